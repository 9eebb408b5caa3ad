"""Tensors and loaders for training: labelled batches cycled beside unlabelled ones (Lightning's CombinedLoader)."""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import torch
from lightning.pytorch.utilities import CombinedLoader
from torch.utils.data import DataLoader, TensorDataset


@dataclass
class TrainingTensors:
    """Mole fractions (N, E) over the model's vocabulary and integer labels, per part."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_unlabelled: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


class AlloyDataModule(L.LightningDataModule):
    """Each training step sees one labelled and one unlabelled batch; an epoch is one pass over the larger part."""

    def __init__(self, tensors: TrainingTensors, batch_size: int = 256, seed: int = 0) -> None:
        super().__init__()
        self.tensors, self.batch_size, self.seed = tensors, batch_size, seed

    def _loader(self, *tensors: torch.Tensor, shuffle: bool, offset: int = 0) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed + offset)
        return DataLoader(TensorDataset(*tensors), batch_size=self.batch_size, shuffle=shuffle, generator=generator)

    def train_dataloader(self):
        t = self.tensors
        loaders = {}
        if len(t.x_train):
            loaders["labelled"] = self._loader(t.x_train, t.y_train, shuffle=True)
        if len(t.x_unlabelled):
            loaders["unlabelled"] = self._loader(t.x_unlabelled, shuffle=True, offset=1)
        return CombinedLoader(loaders, mode="max_size_cycle")

    def val_dataloader(self):
        return self._loader(self.tensors.x_val, self.tensors.y_val, shuffle=False)
