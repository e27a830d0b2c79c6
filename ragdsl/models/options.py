"""The ways to obtain one catalog entry's (or hub id's) weights, as things stand on this machine.

Each source becomes an Option saying whether it is usable now (available),
could be obtained at run time (fetchable), and what it would enter
fingerprints as (identity). `choose` applies the resolution order: the first
available option, else the first fetchable one, else the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ragdsl.models.hfcache import cached_snapshot, hub_cache_shown, hub_offline, hub_unreachable, repo_dir
from ragdsl.models.packages import locate_parts, model_dir
from ragdsl.models.sources import HubSource, PackagedSource

_BUILD = {"gguf": "assembled, verified and converted", "zip": "assembled, verified and unpacked",
          "folder": "copied into the cache and verified"}


@dataclass(frozen=True)
class Option:
    spec: HubSource | PackagedSource
    source: str  # "hub" | "packaged"
    locator: str
    identity: str
    available: bool
    fetchable: bool
    state: str  # why it is (not) available, for `ragdsl models show`
    hint: str  # when not available: the command that makes it so
    path: Path | None = None  # on disk and usable as is: a hub snapshot or an assembled folder


def hub_option(spec: HubSource, name: str) -> Option:
    """`name` is what the user types to pull it (a catalog name or the hub id)."""
    found = cached_snapshot(spec.id, spec.revision)
    offline = hub_offline()
    if found is not None:
        commit, snapshot = found
        return Option(spec, "hub", f"hub {spec.id}@{commit[:12]}", f"hub:{spec.id}@{commit}", True,
                      True, f"in the Hugging Face cache ({snapshot})", "", snapshot)
    identity = f"hub:{spec.id}@{spec.ref}"
    if offline is not None:
        revision = f" --revision {spec.revision}" if spec.revision else ""
        return Option(spec, "hub", spec.locator, identity, False, False,
                      f"not in the Hugging Face cache ({hub_cache_shown()}) and hub access is off ({offline})",
                      f"unset {offline}, or on a machine with hub access run `hf download {spec.id}{revision}` "
                      f"and copy {repo_dir(spec.id).name}/ into {hub_cache_shown()}")
    unreachable = hub_unreachable()
    if unreachable is not None:
        revision = f" --revision {spec.revision}" if spec.revision else ""
        return Option(spec, "hub", spec.locator, identity, False, False,
                      f"not in the Hugging Face cache ({hub_cache_shown()}) and the hub is {unreachable}",
                      f"check network access to the hub, or on a machine with it run "
                      f"`hf download {spec.id}{revision}` and copy {repo_dir(spec.id).name}/ into "
                      f"{hub_cache_shown()}")
    return Option(spec, "hub", spec.locator, identity, False, True,
                  "not in the Hugging Face cache; downloaded from the hub when first used",
                  f"ragdsl models pull {name}")


def packaged_option(spec: PackagedSource, name: str) -> Option:
    identity = f"sha256:{spec.sha256}"
    ready = model_dir(spec.sha256) / "hf"
    if ready.is_dir():
        return Option(spec, "packaged", spec.locator, identity, True, True,
                      f"assembled and verified in the ragdsl cache ({ready})", "", ready)
    found = locate_parts(spec.parts)
    here = [loc for loc in found if loc is not None]
    if len(here) == len(found):
        kinds = sorted({"installed" if loc.kind == "installed" else f"wheel in {loc.path.parent}" for loc in here})
        return Option(spec, "packaged", spec.locator, identity, True, True,
                      f"all parts here ({'; '.join(kinds)}); {_BUILD[spec.layout]} when first used", "")
    extra = f" (or: pip install 'ragdsl[{spec.extra}]')" if spec.extra else ""
    return Option(spec, "packaged", spec.locator, identity, False, True,
                  f"{len(here)} of {len(found)} parts here; the rest downloaded from PyPI with pip "
                  f"(about {spec.download_mb} MB) when first used",
                  f"ragdsl models pull {name}{extra}")


def option_for(spec: HubSource | PackagedSource, name: str) -> Option:
    return hub_option(spec, name) if isinstance(spec, HubSource) else packaged_option(spec, name)


def choose(options: list[Option]) -> Option:
    """The first available option, else the first fetchable one, else the first."""
    return (next((o for o in options if o.available), None)
            or next((o for o in options if o.fetchable), None)
            or options[0])


def why(options: list[Option], chosen: Option) -> str:
    """One sentence: why `chosen` wins."""
    earlier = options[:options.index(chosen)]
    if chosen.available:
        if not earlier:
            return "it is the first source and it is available now"
        return "it is available now, and the sources before it are not"
    if chosen.fetchable:
        return "no source is available on this machine yet; it is the first that can be fetched"
    return "no source is available or can be fetched"


def short_identity(identity: str) -> str:
    """`sha256:1d9614638d18` or `hub:Qwen/Qwen2.5-0.5B-Instruct@a1b2c3d4e5f6`: enough to tell apart."""
    if identity.startswith("sha256:"):
        return identity[:19]
    head, sep, revision = identity.rpartition("@")
    return f"{head}@{revision[:12]}" if sep else identity
