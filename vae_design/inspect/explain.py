"""One alloy explained (``vae-design inspect alloy=FORMULA``): P(single phase) with each descriptor's SHAP
contribution and its value in its unit."""

from __future__ import annotations

import numpy as np

from vae_design.inspect.settings import InspectSettings


def explain_one(model, data, composition, text: str, settings: InspectSettings) -> str:
    """P(single phase) of one alloy with each descriptor's SHAP contribution (against ``settings.shap_background``
    training alloys of ``data``) and value in its unit, as lines to print."""
    from vae_design.design.scoring import KnownAlloys, predictions, record_text, spread_text
    from vae_design.features.descriptors import DESCRIPTOR_UNITS
    from vae_design.inspect.attributions import explain_head
    from vae_design.inspect.head import HeadView
    from vae_design.inspect.inspection import raw_descriptors

    view = HeadView(model.vae)
    x_train = model.vocabulary.to_tensor(data.train[0])
    rng = np.random.default_rng(settings.seed)
    background = np.sort(rng.choice(len(x_train), size=min(settings.shap_background, len(x_train)), replace=False))
    x = model.vocabulary.to_tensor([composition])
    result = explain_head(view, x, x_train[background])
    values = raw_descriptors(view, x).iloc[0]
    known = KnownAlloys.build(model)
    row = predictions(model, [composition], known).iloc[0]
    log_odds = result.outputs[0]
    lines = [
        f"{text}: P(single phase) {row['probability']:.3f} ({spread_text(row['uncertainty'])}; head alone at its "
        f"posterior mean: {1 / (1 + np.exp(-log_odds)):.3f}){record_text(row, model.classes)}",
        f"log-odds {log_odds:+.3f} = average over training alloys {result.base_values[0]:+.3f} + contributions:",
    ]
    for j in np.argsort(-np.abs(result.values[0])):
        player = result.players[j]
        value = f"= {values[player]:.4g} {DESCRIPTOR_UNITS.get(player, '')}" if player in values.index else ""
        lines.append(f"  {player:<12} {result.values[0, j]:+.3f}   {value}".rstrip())
    return "\n".join(lines)
