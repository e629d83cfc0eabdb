"""Training: streaming batches from split HDF5 files, the trainer with checkpoints, prediction."""
