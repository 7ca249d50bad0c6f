"""Stock keeping by SKU."""
