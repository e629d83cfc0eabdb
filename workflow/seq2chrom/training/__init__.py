"""Training: streaming batches from split HDF5 files, the trainer with checkpoints, prediction,
fine-tuning (weight transfer by track name, the stored track list) and its comparison."""
