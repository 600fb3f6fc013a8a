"""plait.finetune: datasets from labels and traces, LoRA and OpenAI fine-tuning, adapter promotion."""
