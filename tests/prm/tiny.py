"""Tiny randomly initialised transformers models + an offline tokenizer, for fast PRM tests."""

from __future__ import annotations

from pathlib import Path

WORDS = [
    "the",
    "a",
    "is",
    "of",
    "and",
    "to",
    "step",
    "answer",
    "problem",
    "solution",
    "add",
    "subtract",
    "multiply",
    "total",
    "each",
    "has",
    "tom",
    "ann",
    "apples",
    "pens",
    "cost",
    "costs",
    "dollars",
    "so",
    "then",
    "we",
    "get",
    "wrong",
    "right",
    "check",
    "final",
]
SPECIALS = ["<pad>", "<unk>", "<eos>", "<extra_0>", "ки"]


def build_tokenizer(directory: Path):
    """A byte-level BPE trained offline on a tiny corpus (the layout Qwen2's tokenizer class reads)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [
        " ".join(WORDS),
        " ".join(w.capitalize() for w in WORDS),
        "0 1 2 3 4 5 6 7 8 9 + - * = : .\n",
    ]
    tok.train_from_iterator(corpus * 20, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        pad_token="<pad>",
        eos_token="<eos>",
        additional_special_tokens=["<extra_0>", "ки"],
    )
    fast.save_pretrained(directory)
    return fast


def tiny_config(tokenizer, **extra):
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **extra,
    )


def save_tiny(directory: Path, kind: str) -> Path:
    """kind: `base` (Qwen2Model), `causal` (Qwen2ForCausalLM), `token-classify` (2 labels)."""
    import torch
    from transformers import Qwen2ForCausalLM, Qwen2ForTokenClassification, Qwen2Model

    torch.manual_seed(0)
    directory.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(directory)
    classes = {
        "base": Qwen2Model,
        "causal": Qwen2ForCausalLM,
        "token-classify": Qwen2ForTokenClassification,
    }
    extra = {"num_labels": 2} if kind == "token-classify" else {}
    model = classes[kind](tiny_config(tok, **extra))
    model.save_pretrained(directory)
    return directory
