"""Hash-checked registry of the public data sets the book uses.

Each entry names a file at a pinned commit of a public repository, its sha256 and a parser that
returns a tidy :class:`pandas.DataFrame`. :func:`load` finds the file in this order:

1. ``$SCALINGLIB_DATA_DIR/<mirror_name>`` if that variable is set (a local mirror; no network;
   a relative path is taken from the book's root folder);
2. the cache (``$SCALINGLIB_CACHE_DIR`` or the OS cache folder), downloading it with pooch first
   if needed. pooch writes to a temporary file and moves it in place only when complete, so an
   interrupted download leaves no partial file.

The sha256 is computed on the file's *text* with line endings normalised to ``\\n`` and trailing
newlines stripped, so a mirror copy and the public file agree even if one lost its final newline.
A mismatch, a missing file or rows that do not parse raise :class:`DataError` saying what to do.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .paths import repo_root

__all__ = [
    "DataError", "Dataset", "REGISTRY", "register", "text_sha256", "fetch", "load",
    "table", "table_names", "checked_in_hashes", "write_checksums",
]


class DataError(RuntimeError):
    """A data file is missing, corrupt or unparsable; the message says how to fix it."""


@dataclass(frozen=True)
class Dataset:
    """One registry entry."""

    name: str
    url: str
    sha256: str
    mirror_name: str
    parser: Callable[[Path], pd.DataFrame]
    description: str
    columns: dict[str, str] = field(default_factory=dict)
    citation: str = ""


REGISTRY: dict[str, Dataset] = {}


def register(ds: Dataset) -> Dataset:
    """Add (or replace) a registry entry."""
    REGISTRY[ds.name] = ds
    return ds


def github_raw_url(repo: str, commit: str, path: str) -> str:
    """Public URL of ``path`` in ``repo`` at ``commit``."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def text_sha256(path: Path) -> str:
    """sha256 of the file's text with ``\\r\\n`` -> ``\\n`` and trailing newlines stripped."""
    text = path.read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n")
    return hashlib.sha256(text).hexdigest()


def _pooch():  # imported late: importing pooch pulls in tqdm.auto, which warns inside notebooks
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pooch
    return pooch


def _env_dir(name: str) -> Path | None:
    """The folder in environment variable ``name``; a relative path is taken from the book's root
    (chapters run with their own folder as working directory, so the shell's would not hold)."""
    env = os.environ.get(name)
    if not env:
        return None
    return Path(env) if Path(env).is_absolute() else repo_root() / env


def _cache_dir() -> Path:
    return _env_dir("SCALINGLIB_CACHE_DIR") or Path(_pooch().os_cache("scalinglib"))


def _verify(ds: Dataset, path: Path, origin: str, remedy: str) -> Path:
    got = text_sha256(path)
    if got != ds.sha256:
        raise DataError(
            f"{ds.name}: {path} ({origin}) has sha256 {got}, expected {ds.sha256} "
            f"(hash of the text with \\n line endings, trailing newlines stripped). {remedy}"
        )
    return path


def fetch(name: str) -> Path:
    """Local path of the verified file for registry entry ``name`` (downloading it if needed)."""
    if name not in REGISTRY:
        raise DataError(f"no data set named {name!r}; known: {', '.join(sorted(REGISTRY))}")
    ds = REGISTRY[name]
    mirror = _env_dir("SCALINGLIB_DATA_DIR")
    if mirror:
        path = mirror / ds.mirror_name
        if not path.is_file():
            raise DataError(
                f"{ds.name}: {path} not found. SCALINGLIB_DATA_DIR={mirror} points at a local mirror; put "
                f"{ds.mirror_name} there (its source is {ds.url}) or unset SCALINGLIB_DATA_DIR to download it."
            )
        return _verify(ds, path, "local mirror", f"Replace it with the file from {ds.url}.")
    cache = _cache_dir()
    fname = f"{ds.name}{Path(ds.url).suffix}"
    target = cache / fname
    cached = target.is_file()
    if not cached:
        pooch = _pooch()
        pooch.get_logger().setLevel("WARNING")
        try:
            pooch.retrieve(ds.url, known_hash=None, fname=fname, path=cache, progressbar=False)
        except Exception as exc:  # network errors come in many types
            raise DataError(
                f"{ds.name}: could not download {ds.url} ({exc}). Check your connection, or set "
                f"SCALINGLIB_DATA_DIR to a folder holding {ds.mirror_name}."
            ) from exc
    if cached:
        origin, remedy = "cached copy", "The cached copy was deleted; run again to download it afresh."
    else:  # a fresh download that does not match: downloading again would not help
        origin, remedy = "just downloaded", (
            f"The download was deleted. The file at {ds.url} is not the pinned version; set "
            f"SCALINGLIB_DATA_DIR to a folder holding a verified {ds.mirror_name}, or report it."
        )
    try:
        return _verify(ds, target, origin, remedy)
    except DataError:
        target.unlink(missing_ok=True)
        raise


def load(name: str) -> pd.DataFrame:
    """Fetch, verify and parse registry entry ``name`` into a tidy DataFrame (see its ``columns``)."""
    ds = REGISTRY.get(name)
    path = fetch(name)
    try:
        return ds.parser(path)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{name}: {path} could not be parsed ({exc}); the file may be damaged.") from exc


# --------------------------------------------------------------------------- parsers


# --------------------------------------------------------------------------- tables checked into data/

CHECKSUMS = "SHA256SUMS"
"""``data/SHA256SUMS``: one line ``<sha256>  <path under data/>`` per checked-in table."""

_TABLE_DIRS = ("papers", "experiments")


def _data_root() -> Path:
    return repo_root() / "data"


def table_names() -> list[str]:
    """Every checked-in table: numbers typed from papers (``papers/...``) and outputs of our own
    experiments (``experiments/...``), as paths under ``data/``."""
    root = _data_root()
    return sorted(str(p.relative_to(root)) for d in _TABLE_DIRS for p in (root / d).glob("*.csv"))


def checked_in_hashes() -> dict[str, str]:
    """The recorded sha256 of each checked-in table (``data/SHA256SUMS``)."""
    path = _data_root() / CHECKSUMS
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            out[name.strip()] = digest
    return out


def write_checksums() -> Path:
    """Record the sha256 of every checked-in table in ``data/SHA256SUMS`` (after a table is added or a
    script regenerates one: ``python -m scalinglib data --rehash``)."""
    root = _data_root()
    lines = ["# sha256 of the text (\\n line endings, trailing newlines stripped) of each checked-in table;",
             "# regenerate with: python -m scalinglib data --rehash"]
    lines += [f"{text_sha256(root / n)}  {n}" for n in table_names()]
    path = root / CHECKSUMS
    path.write_text("\n".join(lines) + "\n")
    return path


def table(name: str, **read_csv: object) -> pd.DataFrame:
    """A table checked into ``data/`` (e.g. ``"papers/hoffmann2022_table3.csv"``), read with
    ``pandas.read_csv(comment="#")`` after its sha256 is checked against ``data/SHA256SUMS``.

    A table that is missing, unrecorded or changed since it was recorded raises :class:`DataError`
    saying what to do, so a chapter never reads numbers nobody checked in.
    """
    if not isinstance(name, str) or not name.endswith(".csv") or name.startswith(("/", "..")):
        raise ValueError(f"name must be a .csv path under data/, e.g. 'papers/x.csv', got {name!r}")
    path = _data_root() / name
    if not path.is_file():
        raise DataError(f"data/{name} not found; known tables: {', '.join(table_names())}")
    recorded = checked_in_hashes().get(name)
    if recorded is None:
        raise DataError(f"data/{name} is not recorded in data/{CHECKSUMS}: run `python -m scalinglib data --rehash` "
                        "after checking the table, and commit both")
    got = text_sha256(path)
    if got != recorded:
        raise DataError(f"data/{name} has sha256 {got}, but data/{CHECKSUMS} records {recorded}: the table changed "
                        "since it was checked. Restore it (git checkout), or rerun its script and then "
                        "`python -m scalinglib data --rehash`")
    kw = {"comment": "#", **read_csv}
    return pd.read_csv(path, **kw)  # type: ignore[arg-type]


def _require(df: pd.DataFrame, cols: list[str], name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"{name}: columns {missing} missing; found {list(df.columns)}")
    bad = df[cols].isna().any(axis=1)
    if bad.any():
        first = int(bad.to_numpy().argmax())
        empty = [c for c in cols if pd.isna(df[c].iloc[first])]
        raise DataError(
            f"{name}: {int(bad.sum())} rows have empty or unparsable values, e.g. data row {first + 1} "
            f"(1 = the first row after the header) in columns {empty}"
        )


def parse_chinchilla_svg(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    _require(raw, ["Model Size", "Training FLOP", "loss"], path.name)
    df = pd.DataFrame(
        {
            "params": raw["Model Size"].astype(float),
            "flops": raw["Training FLOP"].astype(float),
            "loss": raw["loss"].astype(float),
        }
    )
    df["tokens"] = df["flops"] / (6.0 * df["params"])
    df["svg_x"], df["svg_y"], df["hex_color"] = raw["x"], raw["y"], raw["hex_color"]
    return df


def parse_alabdulmohsin(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    cols = ["Domain", "Task", "Model", "Seen Examples", "Loss", "Training"]
    _require(raw, cols, path.name)
    df = pd.DataFrame(
        {
            "domain": raw["Domain"].astype(str),
            "task": raw["Task"].astype(str),
            "model": raw["Model"].astype(str),
            "examples": raw["Seen Examples"].astype(float),
            "loss": raw["Loss"].astype(float),
            "train": raw["Training"].astype(int).astype(bool),
        }
    )
    # The LM curves are repeated (4x) in the published file: keep the first copy of each point.
    df = df.drop_duplicates(subset=["domain", "task", "model", "examples"], keep="first")
    return df.sort_values(["domain", "task", "model", "examples"], kind="stable").reset_index(drop=True)


_ALAB_COLUMNS = {
    "domain": "NMT | LM | BB (BIG-bench) | IC (image classification)",
    "task": "task name (e.g. log_perplexity, \"('date', '1-shot')\", inet_10)",
    "model": "architecture or parameter count",
    "examples": "examples (or tokens) seen in training",
    "loss": "metric value (lower is better)",
    "train": "True: used to fit the law; False: held out for extrapolation",
}
_ALAB = ("google-research/google-research", "9853680c781781bd8d3de20aa61c7373ce059913")
_ALAB_CITE = "Alabdulmohsin, Neyshabur, Zhai 2022, Revisiting Neural Scaling Laws in Language and Vision (NeurIPS)"

register(
    Dataset(
        name="chinchilla_svg_extracted",
        url=github_raw_url(
            "epoch-research/analyzing-chinchilla", "92258837425e1b5f2851d624287f0120583a3d0e", "data/svg_extracted_data.csv"
        ),
        sha256="4305072d850aa6b2b6bfa8cd19c5c3d7f74e8c9c405a56fdb05600f65bdc03dd",
        mirror_name="chinchilla_svg_extracted_data.csv",
        parser=parse_chinchilla_svg,
        description="Epoch AI's digitisation of Hoffmann et al. 2022 Fig. 4 (245 training runs).",
        columns={
            "params": "model size N (parameters)",
            "flops": "training compute C (FLOP)",
            "loss": "final training loss (nats/token), read off the colour bar",
            "tokens": "D = C / (6 N)",
            "svg_x, svg_y, hex_color": "position and colour of the point in the SVG",
        },
        citation="Besiroglu, Erdil, Barnett, You 2024, Chinchilla Scaling: A replication attempt",
    )
)
register(
    Dataset(
        name="alabdulmohsin2022_lang",
        url=github_raw_url(*_ALAB, "revisiting_neural_scaling_laws/data/benchmark.lang.csv"),
        sha256="63c346db00a66b692e1ea9a0f71a2f2b267e55f74be5b863a92e199dffbf0983",
        mirror_name="alabdulmohsin2022_benchmark_lang.csv",
        parser=parse_alabdulmohsin,
        description="Language learning curves (5 NMT, 5 LM, 10 BIG-bench); LM duplicates removed.",
        columns=_ALAB_COLUMNS,
        citation=_ALAB_CITE,
    )
)
register(
    Dataset(
        name="alabdulmohsin2022_vision",
        url=github_raw_url(*_ALAB, "revisiting_neural_scaling_laws/data/benchmark.vision.csv"),
        sha256="23b00692d71e58aa5a2a941e831d57688e0977fdcf5f5125ff7b64283b5d9e83",
        mirror_name="alabdulmohsin2022_benchmark_vision.csv",
        parser=parse_alabdulmohsin,
        description="72 few-shot image-classification error curves (6 architectures x 4 data sets x 3 shots).",
        columns=_ALAB_COLUMNS,
        citation=_ALAB_CITE,
    )
)


def parse_gadre_losses(path: Path) -> pd.DataFrame:
    """Gadre et al. 2024's 104 models x 8 validation sets (one row per model and set)."""
    raw = pd.read_csv(path)
    _require(raw, ["name", "dataset", "arch", "params", "train_tokens", "chinchilla_multiplier", "val_set", "loss"], path.name)
    df = raw.rename(columns={"train_tokens": "tokens"}).copy()
    for c in ("params", "params_no_embed", "tokens", "chinchilla_multiplier", "loss"):
        df[c] = df[c].astype(float)
    df["token_multiplier"] = 20.0 * df["chinchilla_multiplier"]  # M = D / N (their D = 20 M N convention)
    df["flops"] = 6.0 * df["params"] * df["tokens"]
    return df


def parse_gadre_evals(path: Path) -> pd.DataFrame:
    """Gadre et al. 2024's 104 models x 46 downstream tasks; ``error = 1 - score``."""
    raw = pd.read_csv(path)
    _require(raw, ["name", "arch", "task", "score"], path.name)
    df = raw.copy()
    df["score"] = df["score"].astype(float)
    df["error"] = 1.0 - df["score"]
    return df


_GADRE = ("mlfoundations/scaling", "a003c4913793ac2ae7ef87b28ecb562955d026d5")
_GADRE_CITE = (
    "Gadre et al. 2024, Language models scale reliably with over-training and on downstream tasks "
    "(arXiv 2403.08540); data MIT licence"
)
register(
    Dataset(
        name="gadre2024_model_losses",
        # a table flattened from exp_data/models/*.json at the pinned commit (see the data mirror's
        # MANIFEST, section 4b); the URL names that folder: the CSV itself is read from a mirror
        url=f"https://github.com/{_GADRE[0]}/tree/{_GADRE[1]}/exp_data/models",
        sha256="9582fa025d001b6bfe92688fa254112e7d9b2be0876297d6d9b05cbc32a7a465",
        mirror_name="gadre2024_model_losses.csv",
        parser=parse_gadre_losses,
        description="Gadre et al. 2024: 104 models (11M-6.9B, C4 / RedPajama / RefinedWeb, M = 5..640) x 8 "
        "validation losses, flattened from exp_data/models/*.json (needs SCALINGLIB_DATA_DIR).",
        columns={
            "name": "run id <dataset>-<arch>-<chinchilla multiplier>",
            "dataset": "c4_original | rpj (RedPajama) | rw_original (RefinedWeb)",
            "arch": "open_lm config (d=width_l=layers_h=heads) or open_lm_1b / open_lm_7b",
            "params": "N, total parameters",
            "tokens": "D, training tokens",
            "chinchilla_multiplier": "D / (20 N)",
            "token_multiplier": "M = D / N",
            "flops": "C = 6 N D",
            "val_set": "validation set (c4_val is the paper's C4 eval)",
            "loss": "mean next-token cross-entropy (nats)",
        },
        citation=_GADRE_CITE,
    )
)
register(
    Dataset(
        name="gadre2024_downstream_evals",
        url=f"https://github.com/{_GADRE[0]}/tree/{_GADRE[1]}/exp_data/evals",
        sha256="a1efb9634ff8508ccad3d9643a25a33091a3061c4c9261a4743464cc8a5a9124",
        mirror_name="gadre2024_downstream_evals.csv",
        parser=parse_gadre_evals,
        description="Gadre et al. 2024: 104 models x 46 downstream tasks (eval_metrics.icl), flattened from "
        "exp_data/evals/*.json (needs SCALINGLIB_DATA_DIR).",
        columns={"name": "run id (as in gadre2024_model_losses)", "arch": "open_lm config", "task": "task name",
                 "score": "accuracy-type score", "error": "top-1 error = 1 - score"},
        citation=_GADRE_CITE,
    )
)
register(
    Dataset(
        name="bnsl_4digit_addition",
        # 17 (x, y) pairs transcribed from the arrays of the authors' script at the pinned commit (see the data
        # mirror's MANIFEST, section 3); the URL names that script: the CSV itself is read from a mirror
        url="https://github.com/ethancaballero/broken_neural_scaling_laws/blob/ffa608f7ca7910b6f6bcbd39915491353ad5d600/"
        "fit_bnsl_and_extrapolate__4_digit_addition__dataset_size_x-axis.py",
        sha256="d80732a26313aeeb7f7fbe9c08e6a36ce3c532d0c8018b3e1b74b394b9e864ee",  # normalised text; MANIFEST: f2ac704f...
        mirror_name="bnsl_4digit_addition.csv",
        parser=pd.read_csv,
        description="Caballero et al. 2022 Fig. 4 left: 4-digit addition, test cross-entropy against training-set "
        "size; the first 14 points are fitted, the last 3 extrapolated (needs SCALINGLIB_DATA_DIR).",
        columns={"dataset_size": "training-set size x", "test_cross_entropy": "test cross-entropy y",
                 "split": "fit (first 14 points) or extrapolate (last 3)"},
        citation="Caballero, Gupta, Rish, Krueger 2022, Broken Neural Scaling Laws (ICLR 2023)",
    )
)
