"""Tensors and loaders for training: labelled batches cycled beside unlabelled ones (Lightning's CombinedLoader)."""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import torch
from lightning.pytorch.utilities import CombinedLoader
from torch.utils.data import DataLoader, Dataset, Sampler


@dataclass
class TrainingTensors:
    """Mole fractions (N, E) over the model's vocabulary and integer labels, per part."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_unlabelled: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    # weak labels of the unlabelled alloys (N_u,): 1/0 from empirical rules, -1 where they abstain; None: no rules
    y_weak: torch.Tensor | None = None


class Rows(Dataset):
    """Alloys as rows of in-memory tensors, fetched a whole batch at a time: the loader hands
    :meth:`__getitems__` the batch's indices, so each tensor is indexed once per batch instead of once per alloy
    and then stacked (TensorDataset's per-row collation took ~1 ms of every 256 alloys). The sampler still yields
    single indices, so Lightning's distributed sampler wraps it as before."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: int) -> list[torch.Tensor]:
        return [tensor[index] for tensor in self.tensors]

    def __getitems__(self, indices: list[int]) -> list[torch.Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        return [tensor[index] for tensor in self.tensors]


def _as_fetched(batch: list[torch.Tensor]) -> list[torch.Tensor]:
    """The loader's collate function: :class:`Rows` already returns whole-batch tensors (module level, so that
    worker processes can pickle it)."""
    return batch


class EpochShuffle(Sampler[int]):
    """A random order of ``n`` items that depends only on the seed, the epoch (Lightning calls ``set_epoch``) and
    how many passes this epoch already made (the smaller part is cycled within an epoch).

    A generator seeded once when the loader is made would continue across epochs in an uninterrupted run but start
    over in a resumed one; seeding from (seed, epoch, pass) gives a resumed run the batches the uninterrupted run saw.
    """

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch, self.passes = n, seed, 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.passes = epoch, 0

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        generator = torch.Generator().manual_seed(hash((self.seed, self.epoch, self.passes)) & 0x7FFF_FFFF_FFFF)
        self.passes += 1
        return iter(torch.randperm(self.n, generator=generator).tolist())


class AlloyDataModule(L.LightningDataModule):
    """Each training step sees one labelled and one unlabelled batch; an epoch is one pass over the larger part."""

    def __init__(self, tensors: TrainingTensors, batch_size: int = 256, seed: int = 0) -> None:
        super().__init__()
        self.tensors, self.batch_size, self.seed = tensors, batch_size, seed

    def _loader(self, *tensors: torch.Tensor, shuffle: bool, offset: int = 0) -> DataLoader:
        # The loader's own generator only seeds worker processes (none here); giving it one keeps the loader from
        # drawing on the global RNG, which the model's sampling uses and checkpoints save.
        generator = torch.Generator().manual_seed(self.seed + offset)
        sampler = EpochShuffle(len(tensors[0]), self.seed + offset) if shuffle else None
        return DataLoader(Rows(*tensors), self.batch_size, sampler=sampler, generator=generator, collate_fn=_as_fetched)

    def train_dataloader(self):
        t = self.tensors
        loaders = {}
        if len(t.x_train):
            loaders["labelled"] = self._loader(t.x_train, t.y_train, shuffle=True)
        if len(t.x_unlabelled):
            weak = () if t.y_weak is None else (t.y_weak,)
            loaders["unlabelled"] = self._loader(t.x_unlabelled, *weak, shuffle=True, offset=1)
        return CombinedLoader(loaders, mode="max_size_cycle")

    def val_dataloader(self):
        return self._loader(self.tensors.x_val, self.tensors.y_val, shuffle=False)
