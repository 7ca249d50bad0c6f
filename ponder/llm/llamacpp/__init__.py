"""The local backend's llama.cpp machinery: the batching engine and the sequential baseline."""
