"""Dependency resolution: pick one version of every plugin so that every range holds.

Longer than 400 lines: the search and the explanations of a conflict read the same state
of the search (its frames, constraints and their origins).

The resolver is a depth-first search with backtracking. For each plugin it tries the
versions inside every range known so far, best first (an installed version that fits
comes first, so upgrading one plugin does not silently upgrade others; then the
highest version; pre-releases only as :func:`~engine.plugins.versions.matching_versions`
allows). Before taking a version it checks that each of that version's dependencies
can still be satisfied (forward checking); when none can, the reason is recorded and
the search backs up to the last choice. The work is bounded by a number of steps (one
step = one version tried), so adversarial dependency graphs end in a clear error, not
a hang. When no combination works, :class:`DependencyError` shows the first conflict
met on the path of the highest versions, as chains of who needs what.

>>> from packaging.specifiers import SpecifierSet as R
>>> from packaging.version import Version as V
>>> class Index:
...     def candidates(self, id):
...         return [c for c in PLUGINS if c.id == id]
>>> PLUGINS = [
...     Candidate("app", V("2.0.0"), {"lib": R(">=2,<3")}, "1.0", None),
...     Candidate("lib", V("2.1.0"), {}, "1.0", None),
...     Candidate("lib", V("3.0.0"), {}, "1.0", None),
... ]
>>> result = resolve({"app": R()}, Index())
>>> result.order, str(result.selected["lib"].version)
(['lib', 'app'], '2.1.0')
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from engine.diagnostics.errors import Diagnostic, PluginError
from engine.plugins.versions import format_range, format_version, matching_versions

DEFAULT_MAX_STEPS = 10_000
MAX_EXPLANATIONS = 5
MAX_EXPLAIN_ATTEMPTS = 50  # explaining a dead end costs more than finding it
_SHOWN_VERSIONS = 5
_NO_INSTALLED: Mapping[str, Version] = MappingProxyType({})

_HINTS = {
    "dependency-conflict": (
        "ask for another version of one of these plugins, or ask their authors to widen "
        "the ranges they need"
    ),
    "dependency-missing": (
        "check the plugin id for typos, or add the folder, archive or marketplace that provides it"
    ),
    "dependency-no-version": (
        "loosen the range, or add a source (folder, archive or marketplace) that has a "
        "matching version"
    ),
    "dependency-too-complex": (
        "pin some versions exactly (e.g. 'lib: 1.2.0') to narrow the search, or raise max_steps"
    ),
}
_LOCK_HINT = "resolve without the lock to allow upgrades, or ask for the locked versions"
_API_HINT = "update km-actions, or choose a version written for the api_version it reads"


class DependencyError(PluginError):
    """No set of plugin versions satisfies every dependency range.

    ``code`` is one of ``dependency-conflict``, ``dependency-missing``,
    ``dependency-no-version`` or ``dependency-too-complex``; ``diagnostics`` holds up to
    :data:`MAX_EXPLANATIONS` distinct conflicts met during the search, the first one
    being the one in the message.
    """

    code = "dependency-conflict"


@dataclass(frozen=True)
class Candidate:
    """One version of one plugin that a source can provide.

    >>> Candidate("lib", Version("1.0.0"), {}, "1.0", "https://example.org/lib-1.0.0.zip").id
    'lib'
    """

    id: str
    version: Version
    dependencies: Mapping[str, SpecifierSet]
    api_version: str
    source: object = field(compare=False)

    def __str__(self) -> str:
        return f"'{self.id}' {format_version(self.version)}"

    def __hash__(self) -> int:  # dependencies is a mapping, so hash the identity part
        return hash((self.id, self.version))


class CandidateProvider(Protocol):
    """Where candidates come from: installed plugins, folders, marketplace indexes.

    ``candidates`` may return them in any order; with ``installed`` versions, it must
    include them (the resolver can only keep a version it has a :class:`Candidate` for).
    """

    def candidates(self, id: str) -> Iterable[Candidate]:
        """Every version of plugin ``id`` this provider knows (none if it knows none)."""
        ...


@dataclass(frozen=True)
class Resolution:
    """The chosen versions and an install order (dependencies before dependents).

    Dependency cycles are broken the same way every time: the order is a depth-first
    walk from each id in sorted order, listing an id after its dependencies and ignoring
    the one edge that would close a cycle (so in ``a ⇄ b``, ``b`` comes first).
    """

    selected: dict[str, Candidate]
    order: list[str]
    steps: int


def resolve(
    requirements: Mapping[str, SpecifierSet],
    provider: CandidateProvider,
    *,
    installed: Mapping[str, Version] = _NO_INSTALLED,
    locked: bool = False,
    api_versions: Collection[str] | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> Resolution:
    """Choose a version of each required plugin and of everything they depend on.

    ``installed`` versions are kept when they satisfy every range (else upgraded); with
    ``locked``, they may not change at all. With ``api_versions``, candidates written for
    another ``api_version`` are skipped. Raises :class:`DependencyError`.

    >>> from packaging.specifiers import SpecifierSet as R
    >>> class One:
    ...     def candidates(self, id):
    ...         return [Candidate("a", Version(v), {}, "1.0", None) for v in ("1.0.0", "1.1.0")]
    >>> str(resolve({"a": R(">=1")}, One()).selected["a"].version)
    '1.1.0'
    >>> str(resolve({"a": R(">=1")}, One(), installed={"a": Version("1.0.0")})
    ...     .selected["a"].version)
    '1.0.0'
    """
    search = _Search(provider, installed, locked, api_versions, max_steps)
    return search.run(requirements)


class _Origin(enum.Enum):
    """Why a range applies to a plugin."""

    REQUESTED = "requested"
    DEPENDENCY = "dependency"
    LOCKED = "locked"


@dataclass(frozen=True, eq=False)
class _Constraint:
    target: str
    spec: SpecifierSet
    origin: _Origin
    parent: Candidate | None = None


@dataclass(eq=False)
class _Frame:
    """One decision: which version of ``target`` to take."""

    target: str
    options: list[Candidate]
    index: int = 0
    added: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Explanation:
    code: str
    message: str
    hint: str


class _Search:
    """The state of one :func:`resolve` call."""

    def __init__(
        self,
        provider: CandidateProvider,
        installed: Mapping[str, Version],
        locked: bool,
        api_versions: Collection[str] | None,
        max_steps: int,
    ) -> None:
        self.provider = provider
        self.installed = installed
        self.locked = locked
        self.api_versions = None if api_versions is None else frozenset(api_versions)
        self.max_steps = max_steps
        self.steps = 0
        self.constraints: dict[str, list[_Constraint]] = {}
        self.selected: dict[str, Candidate] = {}
        self.explanations: list[_Explanation] = []
        self._pool: dict[str, list[Candidate]] = {}
        self._locks: dict[str, _Constraint] = {}
        self._usable: dict[str, list[Candidate]] = {}
        self._inside: dict[tuple[int, int], bool] = {}
        self._explain_attempts = MAX_EXPLAIN_ATTEMPTS

    # -- candidates ------------------------------------------------------------------

    def pool(self, id: str) -> list[Candidate]:
        """Every candidate of ``id``, one per version, highest first (asked once)."""
        found = self._pool.get(id)
        if found is None:
            by_version: dict[Version, Candidate] = {}
            for candidate in self.provider.candidates(id):
                if candidate.id == id:
                    by_version.setdefault(candidate.version, candidate)
            found = sorted(by_version.values(), key=lambda c: c.version, reverse=True)
            self._pool[id] = found
        return found

    def usable(self, id: str) -> list[Candidate]:
        found = self._usable.get(id)
        if found is None:
            found = self._usable[id] = [c for c in self.pool(id) if self.api_ok(c)]
        return found

    def api_ok(self, candidate: Candidate) -> bool:
        return self.api_versions is None or candidate.api_version in self.api_versions

    def inside(self, version: Version, spec: SpecifierSet) -> bool:
        # Keyed by identity: hashing a SpecifierSet costs more than the check itself, and
        # every spec and version asked about stays alive (in a candidate or a request).
        key = (id(spec), id(version))
        hit = self._inside.get(key)
        if hit is None:
            hit = self._inside[key] = spec.contains(version, prereleases=True)
        return hit

    def constraints_on(self, id: str) -> list[_Constraint]:
        """Every range on ``id`` now, the lock (if any) first."""
        found = list(self.constraints.get(id, ()))
        pinned = self.installed.get(id) if self.locked else None
        if pinned is not None:
            lock = self._locks.get(id)
            if lock is None:
                lock = _Constraint(id, SpecifierSet(f"=={pinned}"), _Origin.LOCKED)
                self._locks[id] = lock
            found.insert(0, lock)
        return found

    def satisfiable(self, id: str, constraints: list[_Constraint]) -> bool:
        return any(
            all(self.inside(c.version, k.spec) for k in constraints) for c in self.usable(id)
        )

    def options(self, id: str) -> list[Candidate]:
        """The versions of ``id`` to try, in order."""
        constraints = self.constraints_on(id)
        usable = {c.version: c for c in self.usable(id)}
        chosen = matching_versions(usable, [k.spec for k in constraints])
        kept = self.installed.get(id)
        if kept in usable and all(self.inside(kept, k.spec) for k in constraints):
            # Kept even when it is a pre-release the policy would not offer.
            chosen = [kept, *(v for v in chosen if v != kept)]
        return [usable[v] for v in chosen]

    # -- the search ------------------------------------------------------------------

    def run(self, requirements: Mapping[str, SpecifierSet]) -> Resolution:
        for id, spec in sorted(requirements.items()):
            self.constraints[id] = [_Constraint(id, spec, _Origin.REQUESTED)]
        for id in sorted(requirements):
            if not self.options(id):
                self.explain_unsatisfiable(id, self.constraints_on(id))
                raise self.failure()
        frames: list[_Frame] = []
        while True:
            target = next((i for i in self.constraints if i not in self.selected), None)
            if target is None:
                return self.resolution()
            frames.append(_Frame(target, self.options(target)))
            while not self.advance(frames[-1]):
                frames.pop()
                if not frames:
                    raise self.failure()
                self.unselect(frames[-1])

    def advance(self, frame: _Frame) -> bool:
        """Take the next version of the frame's plugin that fits; False when none is left."""
        while frame.index < len(frame.options):
            candidate = frame.options[frame.index]
            frame.index += 1
            self.steps += 1
            if self.steps > self.max_steps:
                raise self.too_complex()
            if self.fits(candidate):
                self.select(candidate, frame)
                return True
        return False

    def fits(self, candidate: Candidate) -> bool:
        """Whether every dependency of ``candidate`` can still be satisfied."""
        for dep, spec in sorted(candidate.dependencies.items()):
            new = _Constraint(dep, spec, _Origin.DEPENDENCY, candidate)
            if dep == candidate.id:
                if self.inside(candidate.version, spec):
                    continue
                self.explain_self(candidate, new)
                return False
            if not self.pool(dep):
                self.explain_missing(candidate, dep)
                return False
            chosen = self.selected.get(dep)
            if chosen is not None and self.inside(chosen.version, spec):
                continue
            existing = self.constraints_on(dep)
            if not self.satisfiable(dep, [*existing, new]):
                self.explain_unsatisfiable(dep, [*existing, new])
                return False
            if chosen is not None:
                return False  # another version of dep would fit: back up to it
        return True

    def select(self, candidate: Candidate, frame: _Frame) -> None:
        self.selected[candidate.id] = candidate
        for dep, spec in sorted(candidate.dependencies.items()):
            self.constraints.setdefault(dep, []).append(
                _Constraint(dep, spec, _Origin.DEPENDENCY, candidate)
            )
            frame.added.append(dep)

    def unselect(self, frame: _Frame) -> None:
        del self.selected[frame.target]
        for dep in reversed(frame.added):
            remaining = self.constraints[dep]
            remaining.pop()
            if not remaining:
                del self.constraints[dep]
        frame.added.clear()

    def resolution(self) -> Resolution:
        selected = dict(sorted(self.selected.items()))
        return Resolution(selected, _install_order(selected), self.steps)

    # -- explanations ----------------------------------------------------------------

    def chain(self, candidate: Candidate) -> list[Candidate]:
        """Who needs ``candidate``: its first requester, that one's, … up to a root."""
        links: list[Candidate] = []
        seen = {candidate.id}
        current = candidate
        while True:
            requesters = self.constraints.get(current.id)
            parent = requesters[0].parent if requesters else None
            if parent is None or parent.id in seen:
                return links
            current = parent
            seen.add(current.id)
            links.append(current)

    def who(self, candidate: Candidate) -> str:
        links = self.chain(candidate)
        if not links:
            return str(candidate)
        return f"{candidate} ({', '.join(f'needed by {link}' for link in links)})"

    def root(self, constraint: _Constraint) -> str | None:
        if constraint.origin is _Origin.LOCKED:
            return None
        if constraint.parent is None:
            spec = format_range(constraint.spec)
            return f"'{constraint.target}'" + ("" if spec == "*" else f" {spec}")
        links = self.chain(constraint.parent)
        return str(links[-1] if links else constraint.parent)

    def clause(self, constraint: _Constraint) -> str:
        spec = format_range(constraint.spec)
        if constraint.origin is _Origin.LOCKED:
            return f"'{constraint.target}' is locked at {spec.removeprefix('==')}"
        if constraint.parent is None:
            return f"you asked for '{constraint.target}' {spec}"
        return f"{self.who(constraint.parent)} needs '{constraint.target}' {spec}"

    def record(self, code: str, message: str, hint: str) -> None:
        if len(self.explanations) < MAX_EXPLANATIONS and all(
            e.message != message for e in self.explanations
        ):
            self.explanations.append(_Explanation(code, message, hint))

    def prefix(self, constraints: Iterable[_Constraint]) -> str:
        roots = list(dict.fromkeys(r for r in map(self.root, constraints) if r is not None))
        if len(roots) == 1:
            return f"cannot install {roots[0]}: "
        if len(roots) == 2:
            return f"cannot install {roots[0]} together with {roots[1]}: "
        return f"cannot install {', '.join(roots[:-1])} and {roots[-1]} together: "

    def wants_explanation(self) -> bool:
        """Whether another dead end should be explained (bounded: the first ones matter)."""
        self._explain_attempts -= 1
        return self._explain_attempts >= 0 and len(self.explanations) < MAX_EXPLANATIONS

    def explain_missing(self, candidate: Candidate, dep: str) -> None:
        if not self.wants_explanation():
            return
        need = _Constraint(dep, SpecifierSet(), _Origin.DEPENDENCY, candidate)
        message = (
            f"{self.prefix([need])}{self.who(candidate)} needs '{dep}', which is not "
            "available from any source"
        )
        self.record("dependency-missing", message, _HINTS["dependency-missing"])

    def explain_self(self, candidate: Candidate, need: _Constraint) -> None:
        if not self.wants_explanation():
            return
        message = (
            f"{self.prefix([need])}{self.who(candidate)} needs '{candidate.id}' "
            f"{format_range(need.spec)}, which excludes itself"
        )
        self.record("dependency-conflict", message, "fix the plugin's own dependency range")

    def explain_unsatisfiable(self, id: str, constraints: list[_Constraint]) -> None:
        """Record why no version of ``id`` fits ``constraints`` (the last one is new)."""
        if not self.wants_explanation():
            return
        if not self.pool(id):
            self.record(
                "dependency-missing",
                f"'{id}' is not available from any source",
                _HINTS["dependency-missing"],
            )
            return
        *existing, new = constraints
        needed = self.minimal(id, existing, new)
        api_note = self.api_note(id, [*needed, new])
        if needed:
            code = "dependency-conflict"
            body = f"{', '.join(map(self.clause, needed))}, but {self.clause(new)}"
        else:
            code = "dependency-no-version"
            body = self.no_version(id, new)
        message = self.prefix([*needed, new]) + body + api_note
        if new.origin is _Origin.REQUESTED and not needed:
            message = body + api_note
        hint = _HINTS[code]
        if any(k.origin is _Origin.LOCKED for k in needed):
            hint = _LOCK_HINT
        elif api_note and not needed:
            hint = _API_HINT
        self.record(code, message, hint)

    def minimal(self, id: str, existing: list[_Constraint], new: _Constraint) -> list[_Constraint]:
        """The fewest earlier ranges that still clash with ``new`` (the earliest kept)."""
        kept = list(existing)
        for constraint in reversed(existing):
            trial = [k for k in kept if k is not constraint]
            if not self.satisfiable(id, [*trial, new]):
                kept = trial
        return kept

    def no_version(self, id: str, new: _Constraint) -> str:
        versions = [format_version(c.version) for c in self.usable(id)]
        shown = ", ".join(versions[:_SHOWN_VERSIONS]) + (
            ", …" if len(versions) > _SHOWN_VERSIONS else ""
        )
        available = f" (available: {shown})" if versions else ""
        if new.origin is _Origin.REQUESTED:
            return f"no version of '{id}' matches {format_range(new.spec)}{available}"
        return f"{self.clause(new)}, but no version of '{id}' matches{available}"

    def api_note(self, id: str, constraints: list[_Constraint]) -> str:
        """Mention versions that would fit but are written for another api_version."""
        skipped = [
            c
            for c in self.pool(id)
            if not self.api_ok(c) and all(self.inside(c.version, k.spec) for k in constraints)
        ]
        if not skipped or self.api_versions is None:
            return ""
        first = skipped[0]
        reads = ", ".join(f"'{a}'" for a in sorted(self.api_versions))
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        return (
            f"; {first}{more} would fit but is written for api_version "
            f"'{first.api_version}', and this engine reads {reads}"
        )

    def failure(self) -> DependencyError:
        if not self.explanations:
            requested = [k for id in sorted(self.constraints) for k in self.constraints[id]]
            self.record(
                "dependency-conflict",
                f"{self.prefix(k for k in requested if k.parent is None)}no combination of "
                "versions satisfies every dependency range",
                _HINTS["dependency-conflict"],
            )
        return _error(self.explanations)

    def too_complex(self) -> DependencyError:
        first = self.explanations[:1]
        roots = [k for id in sorted(self.constraints) for k in self.constraints[id]]
        message = (
            f"{self.prefix(k for k in roots if k.parent is None)}gave up after trying "
            f"{self.max_steps} versions without finding a combination that works"
        )
        if first:
            message += f"; the first conflict found: {first[0].message}"
        head = _Explanation("dependency-too-complex", message, _HINTS["dependency-too-complex"])
        return _error([head, *first])


def _error(explanations: list[_Explanation]) -> DependencyError:
    head = explanations[0]
    diagnostics = [Diagnostic(e.code, e.message, hint=e.hint) for e in explanations]
    return DependencyError(head.message, code=head.code, hint=head.hint, diagnostics=diagnostics)


def _install_order(selected: Mapping[str, Candidate]) -> list[str]:
    """Dependencies before dependents; a cycle is entered at its smallest id."""
    order: list[str] = []
    done: set[str] = set()
    for start in sorted(selected):
        if start in done:
            continue
        done.add(start)
        stack: list[tuple[str, Iterator[str]]] = [(start, _deps_of(selected, start))]
        while stack:
            id, deps = stack[-1]
            dep = next((d for d in deps if d not in done), None)
            if dep is None:
                order.append(id)
                stack.pop()
            else:
                done.add(dep)
                stack.append((dep, _deps_of(selected, dep)))
    return order


def _deps_of(selected: Mapping[str, Candidate], id: str) -> Iterator[str]:
    return iter(sorted(d for d in selected[id].dependencies if d in selected and d != id))
