"""The settings dataclasses as Hydra structured configs: one definition behind the CLI, the API and the bundle.

Each config group's typed default is a dataclass of the layer that uses it, registered here in Hydra's config store
(``configs/`` holds only presets over them, such as ``trainer=gpu``). So a default has one home, Hydra rejects an
unknown key or a value of the wrong type while composing, :func:`typed_error` turns its message into the house's
one line ("model.z_dim must be a whole number, got 'abc'"), and :func:`command_settings` hands a command's plain
function its settings as those dataclasses.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
import typing
from dataclasses import fields, is_dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from vae_design.errors import InputError
from vae_design.resources import config_dir


def _node(settings) -> DictConfig:
    """A writable structured config of a dataclass, its nested groups too (frozen dataclasses give read-only nodes,
    which overrides could not change)."""
    node = OmegaConf.structured(settings)
    for child in [node, *(node._get_node(key) for key in node)]:
        if isinstance(child, DictConfig):
            OmegaConf.set_readonly(child, False)
    return node


@functools.cache
def register() -> dict[str, type]:
    """Store every group's typed options and each command's root schema, once per process (the store is Hydra's
    global, so a second call would only rebuild the same nodes); returns {config name: its root schema}."""
    from hydra.core.config_store import ConfigStore

    from vae_design import runs
    from vae_design.data.settings import DataSettings, SplitSettings
    from vae_design.data.weak_labels import WeakLabelling
    from vae_design.models.semi import PRESETS
    from vae_design.models.settings import ModelSettings
    from vae_design.training.pretrain import Pretraining
    from vae_design.training.settings import LoggerSettings, TrainerSettings

    store = ConfigStore.instance()
    store.store(group="data", name="default", node=_node(DataSettings))
    store.store(group="split", name="random", node=_node(SplitSettings))
    store.store(group="model", name="default", node=_node(ModelSettings))
    store.store(group="trainer", name="default", node=_node(TrainerSettings))
    store.store(group="logger", name="default", node=_node(LoggerSettings))
    store.store(group="weak", name="rules", node=_node(WeakLabelling))
    store.store(group="pretrain", name="descriptors", node=_node(Pretraining))
    for name, preset in PRESETS.items():
        store.store(group="semi", name=name, node=_node(preset))

    # Each command's root schema: SETTINGS of vae_design/runs/<name>.py, for configs/<name>.yaml. The root stays
    # open for the config groups and the yaml's CLI-only key (bundle) beside the typed settings (an unknown key on
    # the command line is still refused: Hydra's "Could not override", and compose() for +key=...).
    modules = [importlib.import_module(f"vae_design.runs.{m.name}") for m in pkgutil.iter_modules(runs.__path__)]
    roots = {module.__name__.rsplit(".", 1)[-1]: module.SETTINGS for module in modules if hasattr(module, "SETTINGS")}
    for name, schema in roots.items():
        node = _node(schema)
        OmegaConf.set_struct(node, False)
        store.store(name=f"{name}_schema", node=node)
    return roots


def group_options(group: str) -> list[str]:
    """The options of a config group, from ``configs/<group>/`` and the config store together ([] if no group)."""
    from hydra.core.config_store import ConfigStore

    register()
    files = {path.stem for path in (config_dir() / group).glob("*.yaml")}
    stored = ConfigStore.instance().list(group) if group in ConfigStore.instance().list("") else []
    return sorted(files | {name.removesuffix(".yaml") for name in stored})


def command_settings(cfg: DictConfig, schema: type, command: str):
    """(``schema`` built from the config's keys of that name, {every other key but ``hydra``: its value}): a group
    as its dataclass (whose checks run here), a config group left empty (``weak=none``) as None. A required value
    not given is a one-line error; so is a failed check of a key that is neither the schema's nor a config group's
    (suggest's ``generate``), prefixed with the key."""
    names, values = {f.name for f in fields(schema)}, {}
    for key in (key for key in cfg if key != "hydra"):
        if OmegaConf.is_missing(cfg, key):
            raise InputError(f"{key}=... is required (vae-design {command} --help)")
        try:
            value = OmegaConf.to_object(cfg[key]) if OmegaConf.is_config(cfg[key]) else cfg[key]
        except InputError as error:
            if key in names or group_options(key):
                raise
            raise InputError(f"{key}: {error}") from None
        except AttributeError:  # a key set into a frozen group as a whole (generate={a:1})
            raise InputError(f"{key} is a group of settings: set its keys ({key}.KEY=VALUE)") from None
        values[key] = None if value == {} and group_options(key) else value
    return schema(**{key: values.pop(key) for key in names if key in values}), values


def save_config(cfg: DictConfig, overrides: list[str], folder: Path) -> None:
    """The record of a run that ``hydra.main`` would write: .hydra/config.yaml and .hydra/overrides.yaml."""
    (folder / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), folder / ".hydra/config.yaml", True)
    OmegaConf.save(OmegaConf.create(list(overrides)), folder / ".hydra" / "overrides.yaml")


KINDS = {int: "a whole number", float: "a number", bool: "true or false", str: "text", type(None): "null"}


def typed_error(error: BaseException) -> InputError | None:
    """OmegaConf's "Value 'abc' of type 'str' could not be converted to Integer" (``full_key`` model.z_dim) as
    "model.z_dim must be a whole number, got 'abc'", the kind read from the dataclass field's type hint; None for
    any other error."""
    key, text = getattr(error, "full_key", None), str(error)
    if not key:
        return None
    if re.match(r"Invalid value assigned: \w+ is not a ListConfig", text):
        return InputError(f"{key} must be a list, e.g. [a,b]")
    if re.match(r"Invalid (?:value|type) assigned: \w+ is not a (?:DictConfig|subclass)", text):
        return InputError(f"{key} is a group of settings: set its keys ({key}.KEY=VALUE)")
    if not re.match(r"Value '.*' (?:of type|is not a valid bool)", text) or not is_dataclass(error.object_type):
        return None
    try:  # the field of a list item (data.elements[0]) is the list's
        hint = typing.get_type_hints(error.object_type).get(re.sub(r"\[.*", "", key.rsplit(".", 1)[-1]))
    except NameError:  # a hint that cannot be resolved: Hydra's own message
        return None
    kinds = typing.get_args(hint) or (hint,)  # Optional[Union[int, float]]: (int, float, NoneType)
    kind = " or ".join(dict.fromkeys(KINDS[k] for k in kinds if k in KINDS and not (k is int and float in kinds)))
    value = repr(error.value) if isinstance(error.value, str) else error.value
    return InputError(f"{key} must be {kind or 'of another type'}, got {value}")
