"""Benchmark the intake sanitiser and the personal-data scanner against plain baselines.

Run as ``python bench/sanitise.py``. Writes bench/results/sanitise.json and scanner.json.

1. A generated 12-megapixel JPEG carrying EXIF with GPS goes through ``sanitise()``; the baseline
   is Pillow alone decoding and re-encoding the same bytes at the same quality, in the same run.
2. Scanner throughput over the clean-letter corpus, in letters per second; the baseline is one
   plain ``re`` email regex over the same letters.
"""

from __future__ import annotations

import io
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402 - after the path set-up so the repo's packages import

from service.letterbox.sanitise import JPEG_QUALITY, IntakeLimits, sanitise  # noqa: E402
from service.letterbox.scanner import scan  # noqa: E402
from tests.support import images  # noqa: E402
from tests.support.scanner_corpus import clean_letters  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PHOTO_SIZE = (4000, 3000)
ROUNDS = 7
SCAN_ROUNDS = 5
SAMPLE_TERMS = ("Oakfield Primary", "Hartley", "Brownies", "Kirkstall")


def machine() -> dict[str, object]:
    versions = {}
    for package in ("pillow", "pillow-heif", "pypdfium2", "phonenumbers"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": versions,
    }


def median_seconds(action: Callable[[], object], rounds: int) -> float:
    action()  # warm caches and lazy imports
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def camera_photo(*, icc: bytes | None) -> bytes:
    """A 12 MP JPEG with sensor-like noise (so it codes like a real photo, ~4 MB), carrying
    EXIF with GPS, a maker note and a thumbnail, XMP, IPTC and a comment."""
    base = images.photo(PHOTO_SIZE)
    noise = Image.effect_noise(PHOTO_SIZE, 24).convert("RGB")
    picture = Image.blend(base, noise, 0.25)
    extra: dict[str, object] = {"icc_profile": icc} if icc else {}
    buffer = io.BytesIO()
    picture.save(
        buffer,
        "JPEG",
        quality=92,
        exif=images.build_exif(),
        comment=images.COMMENT,
        xmp=images.XMP_PACKET,
        **extra,
    )
    return images.insert_jpeg_segment(buffer.getvalue(), images.iptc_segment())


def bench_sanitise(*, icc: bytes | None, name: str, note: str) -> dict[str, object]:
    photo = camera_photo(icc=icc)
    limits = IntakeLimits()

    def baseline() -> bytes:
        image = Image.open(io.BytesIO(photo))
        image.load()
        out = io.BytesIO()
        image.save(out, "JPEG", quality=JPEG_QUALITY)
        return out.getvalue()

    def ours() -> object:
        return sanitise(photo, "photo.jpg", limits)

    # Interleave so drift on a busy machine hits both equally.
    ours_times: list[float] = []
    base_times: list[float] = []
    for _ in range(ROUNDS):
        base_times.append(median_seconds(baseline, 1))
        ours_times.append(median_seconds(ours, 1))
    ours_s = statistics.median(ours_times)
    base_s = statistics.median(base_times)
    return {
        "name": name,
        "unit": "seconds per photo (median)",
        "value": round(ours_s, 4),
        "baseline_name": "Pillow decode + JPEG encode alone, same bytes, same quality",
        "baseline_value": round(base_s, 4),
        "ratio": round(ours_s / base_s, 3),
        "ratio_meaning": "ours / baseline time; lower is better; 1.0 means no overhead",
        "target": "<= 1.2",
        "params": {
            "width": PHOTO_SIZE[0],
            "height": PHOTO_SIZE[1],
            "input_bytes": len(photo),
            "input_metadata": "EXIF (GPS, maker note, thumbnail), XMP, IPTC, comment"
            + (", non-sRGB ICC profile" if icc else ""),
            "jpeg_quality": JPEG_QUALITY,
            "rounds": ROUNDS,
            "note": note,
        },
        "machine": machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def bench_scanner() -> dict[str, object]:
    letters = clean_letters()
    email = re.compile(r"[\w.%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

    def ours() -> object:
        return [scan(letter, SAMPLE_TERMS) for letter in letters]

    def baseline() -> object:
        return [email.findall(letter) for letter in letters]

    ours_s = median_seconds(ours, SCAN_ROUNDS)
    base_s = median_seconds(baseline, SCAN_ROUNDS)
    ours_rate = len(letters) / ours_s
    base_rate = len(letters) / base_s
    return {
        "name": "scanner_throughput",
        "unit": "letters per second",
        "value": round(ours_rate, 1),
        "baseline_name": "one plain re email regex over the same letters",
        "baseline_value": round(base_rate, 1),
        "ratio": round(ours_rate / base_rate, 4),
        "ratio_meaning": "ours / baseline throughput; the full scanner does far more work",
        "target": "none set; a letter must scan well under the time a moderator waits (~10 ms)",
        "params": {
            "letters": len(letters),
            "mean_letter_chars": round(sum(map(len, letters)) / len(letters)),
            "sensitive_terms": len(SAMPLE_TERMS),
            "rounds": SCAN_ROUNDS,
        },
        "machine": machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def report(result: dict[str, object]) -> None:
    print(
        f"{result['name']}: {result['value']} {result['unit']} vs baseline "
        f"{result['baseline_value']} (ratio {result['ratio']}, target {result['target']})"
    )


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    sanitised = [
        bench_sanitise(
            icc=None,
            name="sanitise_12mp_jpeg",
            note="the issue's measurement: a camera JPEG with EXIF/GPS and no colour profile",
        ),
        bench_sanitise(
            icc=images.swapped_primaries_icc(),
            name="sanitise_12mp_jpeg_with_colour_profile",
            note="ours also converts the embedded non-sRGB profile to sRGB (LittleCMS); "
            "the baseline does no colour work, so this ratio is not comparable to the target",
        ),
    ]
    (RESULTS / "sanitise.json").write_text(json.dumps(sanitised, indent=2) + "\n")
    for result in sanitised:
        report(result)
    scanner = bench_scanner()
    (RESULTS / "scanner.json").write_text(json.dumps(scanner, indent=2) + "\n")
    report(scanner)


if __name__ == "__main__":
    main()
