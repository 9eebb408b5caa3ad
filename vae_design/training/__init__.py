"""Lightning training around the ELBO: fit, early stopping, checkpoints, metrics, pretraining."""
