"""Labels and slide names holding U+2028, U+2029 or U+0085 give valid one-line manifest lines.

JSON (RFC 8259, section 7) allows these characters raw inside strings, but Python's
``str.splitlines`` and JavaScript readers break lines on them; the guide's manifests are
"JSON Lines" ("Each line in the manifest file is a JSON object", object-detection
manifest page). The builder must write them escaped, so every reader sees one line per
image, and the validator must accept what the builder writes.
"""

from __future__ import annotations

import json
from pathlib import Path

from wsi2rek.dataset import Manifest, build_dataset, validate_dataset
from wsi2rek.geometry import Box
from wsi2rek.sampling import LabeledBox, PatchPlan, PatchSpec
from wsi2rek.testing import make_slide

SEPARATORS = ("\u2028", "\u2029", "\x85")


def test_separators_in_labels_and_slide_names_are_escaped_and_validate(tmp_path: Path) -> None:
    train_name, test_name = "train\u2028slide.svs", "test\x85slide.svs"
    train = make_slide(tmp_path / train_name, 600, 600, seed=1)
    test = make_slide(tmp_path / test_name, 600, 600, seed=2)
    labels = ("mitotic\u2028figure", "look\u2029alike\x85")
    patches = [
        PatchSpec(
            name,
            Box(x, 100, x + 128, 228),
            split,
            [LabeledBox(labels[i % 2], Box.from_xywh(x + 40, 140, 40, 40))],
            target=i,
        )
        for i, (name, split, x) in enumerate(
            [
                (train_name, "train", 50),
                (train_name, "train", 250),
                (test_name, "test", 50),
                (test_name, "test", 250),
            ]
        )
    ]
    plan = PatchPlan(patches, {train_name: str(train), test_name: str(test)}, labels)
    out = tmp_path / "ds"
    summary = build_dataset(plan, out, workers=0, preview=False)
    assert summary.ok
    for split in ("train", "test"):
        raw = (out / f"{split}.manifest").read_bytes()
        text = raw.decode("utf-8")
        assert not any(char in text for char in SEPARATORS)
        assert "\\u2028" in text
        assert len(text.splitlines()) == 2  # what str.splitlines readers see
        names = {
            name
            for line in text.splitlines()
            for name in json.loads(line)["bounding-box-metadata"]["class-map"].values()
        }
        assert names == set(labels)  # the escapes decode back to the names
        read = Manifest.read(out / f"{split}.manifest")
        assert all(line.source_ref.startswith(f"images/{split}/") for line in read.lines)
    report = validate_dataset(out)
    assert report.ok, report
