"""Dependency resolution: pick one version of every plugin so that every range holds.

Longer than 400 lines: the provider and the explanations of a conflict read the same
state of the search (the ranges known so far and who asked for them).

The search is resolvelib's (the resolver pip uses, with backjumping): :class:`_Provider`
tells it which versions of a plugin fit the ranges known so far, best first (an
installed version that fits comes first, so upgrading one plugin does not silently
upgrade others; then the highest version; pre-releases only as
:func:`~engine.load.ranges.matching_versions` allows), and what each version needs.
Plugins are pinned in the order they are first met, so answers are deterministic. The
explanations are ours: resolvelib reports every version it rejects with the ranges that
clashed (:class:`_Explainer` is its reporter), and :class:`DependencyError` shows the
first conflict met on the path of the highest versions, as chains of who needs what. The
work is bounded by a number of steps (one step = one version tried), so adversarial
dependency graphs end in a clear error, not a hang.

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
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from packaging.specifiers import SpecifierSet
from packaging.version import Version
from resolvelib import (
    AbstractProvider,
    BaseReporter,
    ResolutionImpossible,
    ResolutionTooDeep,
)
from resolvelib.resolvers import Resolution as Search

if TYPE_CHECKING:
    from resolvelib.resolvers.criterion import Criterion
    from resolvelib.structs import RequirementInformation, State

from engine.diagnostics.errors import Diagnostic, PluginError
from engine.load.ranges import format_range, format_version, matching_versions

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
    pool = _Pool(provider, installed, locked, api_versions)
    explainer = _Explainer(pool, max_steps)
    wanted = [
        _Requirement(id, spec, _Origin.REQUESTED) for id, spec in sorted(requirements.items())
    ]
    requests = [_Constraint(r.target, r.spec, r.origin) for r in wanted]
    try:
        # Nearly every round tries a version, so the step bound is normally met first;
        # resolvelib's own bound on rounds is the same limit, met another way.
        state = Search(_Provider(pool), explainer).resolve(wanted, max_rounds=max_steps + 1)
    except (_TooComplexError, ResolutionTooDeep):
        raise explainer.too_complex(requests) from None
    except ResolutionImpossible as impossible:
        if not explainer.explanations:  # a request no version fits: no version was tried
            explainer.explain(impossible.causes)
        raise explainer.failure() from None
    selected = dict(sorted(_still_wanted(state).items()))
    return Resolution(selected, _install_order(selected), explainer.steps)


def _still_wanted(state: State[_Requirement, Candidate, str]) -> dict[str, Candidate]:
    """The versions the search settled on that a request still leads to (through the
    plugins asking for them); versions pinned, then left behind while backjumping, are
    dropped. resolvelib's own ``Resolver.resolve`` computes this by a recursion that never
    ends when left-behind versions ask for each other in a cycle (resolvelib 1.2.1:
    RecursionError after a solution was found); this walk stops at its fixed point."""
    key_of: dict[int, str] = {id(candidate): key for key, candidate in state.mapping.items()}
    reached: set[str | None] = {None}  # None: the requests themselves
    grew = True
    while grew:
        grew = False
        for key, criterion in state.criteria.items():
            if key not in reached and any(
                (None if parent is None else key_of.get(id(parent), "")) in reached
                for parent in criterion.iter_parent()
            ):
                reached.add(key)
                grew = True
    return {key: version for key, version in state.mapping.items() if key in reached}


class _Origin(enum.Enum):
    """Why a range applies to a plugin."""

    REQUESTED = "requested"
    DEPENDENCY = "dependency"
    LOCKED = "locked"


@dataclass(frozen=True, eq=False)
class _Requirement:
    """A range on one plugin, as resolvelib carries it (who asked is its parent)."""

    target: str
    spec: SpecifierSet
    origin: _Origin


@dataclass(frozen=True, eq=False)
class _Constraint:
    """A range on one plugin and who asked for it (``None``: the user, or the lock)."""

    target: str
    spec: SpecifierSet
    origin: _Origin
    parent: Candidate | None = None


if TYPE_CHECKING:
    _Info = RequirementInformation[_Requirement, Candidate]
    _State = State[_Requirement, Candidate, str]


@dataclass(frozen=True)
class _Explanation:
    code: str
    message: str
    hint: str


class _TooComplexError(Exception):
    """Raised from the reporter to stop resolvelib after ``max_steps`` versions."""


class _Pool:
    """The candidates of each plugin (asked once) and the rules on which may be chosen."""

    def __init__(
        self,
        provider: CandidateProvider,
        installed: Mapping[str, Version],
        locked: bool,
        api_versions: Collection[str] | None,
    ) -> None:
        self.provider = provider
        self.installed = installed
        self.locked = locked
        self.api_versions = None if api_versions is None else frozenset(api_versions)
        self._all: dict[str, list[Candidate]] = {}
        self._usable: dict[str, list[Candidate]] = {}
        self._inside: dict[tuple[int, int], bool] = {}
        self._locks: dict[str, _Constraint] = {}

    def all(self, id: str) -> list[Candidate]:
        """Every candidate of ``id``, one per version, highest first."""
        found = self._all.get(id)
        if found is None:
            by_version: dict[Version, Candidate] = {}
            for candidate in self.provider.candidates(id):
                if candidate.id == id:
                    by_version.setdefault(candidate.version, candidate)
            found = sorted(by_version.values(), key=lambda c: c.version, reverse=True)
            self._all[id] = found
        return found

    def usable(self, id: str) -> list[Candidate]:
        found = self._usable.get(id)
        if found is None:
            found = self._usable[id] = [c for c in self.all(id) if self.api_ok(c)]
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

    def lock(self, id: str) -> _Constraint | None:
        """The range that ``locked`` puts on ``id`` (its installed version), if any."""
        pinned = self.installed.get(id) if self.locked else None
        if pinned is None:
            return None
        lock = self._locks.get(id)
        if lock is None:
            lock = self._locks[id] = _Constraint(id, SpecifierSet(f"=={pinned}"), _Origin.LOCKED)
        return lock

    def satisfiable(self, id: str, constraints: Iterable[_Constraint]) -> bool:
        specs = [k.spec for k in constraints]
        return any(all(self.inside(c.version, s) for s in specs) for c in self.usable(id))

    def options(
        self, id: str, specs: list[SpecifierSet], excluded: Collection[Version]
    ) -> list[Candidate]:
        """The versions of ``id`` inside ``specs`` (and the lock), in the order to try."""
        lock = self.lock(id)
        if lock is not None:
            specs = [lock.spec, *specs]
        usable = {c.version: c for c in self.usable(id) if c.version not in excluded}
        chosen = matching_versions(usable, specs)
        kept = self.installed.get(id)
        if kept in usable and all(self.inside(kept, s) for s in specs):
            # Kept even when it is a pre-release the policy would not offer.
            chosen = [kept, *(v for v in chosen if v != kept)]
        return [usable[v] for v in chosen]


class _Provider(AbstractProvider[_Requirement, Candidate, str]):
    """What resolvelib asks about plugins, answered from a :class:`_Pool`.

    Plugins are pinned in the order they are first met (the requests in sorted order,
    then each version's dependencies in sorted order), so that the same question
    always gets the same answer and the same explanation.
    """

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.met: dict[str, int] = {}

    def identify(self, requirement_or_candidate: _Requirement | Candidate) -> str:
        if isinstance(requirement_or_candidate, Candidate):
            return requirement_or_candidate.id
        return requirement_or_candidate.target

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[_Info]],
        backtrack_causes: Sequence[_Info],
    ) -> int:
        return self.met[identifier]

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[_Requirement]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate]:
        self.met.setdefault(identifier, len(self.met))
        specs = [r.spec for r in requirements[identifier]]
        excluded = {c.version for c in incompatibilities[identifier]}
        return self.pool.options(identifier, specs, excluded)

    def is_satisfied_by(self, requirement: _Requirement, candidate: Candidate) -> bool:
        return self.pool.inside(candidate.version, requirement.spec)

    def get_dependencies(self, candidate: Candidate) -> list[_Requirement]:
        return [
            _Requirement(dep, spec, _Origin.DEPENDENCY)
            for dep, spec in sorted(candidate.dependencies.items())
            # A plugin that accepts its own version needs nothing more of itself.
            if dep != candidate.id or not self.pool.inside(candidate.version, spec)
        ]


class _Explainer(BaseReporter[_Requirement, Candidate, str]):
    """Counts the versions resolvelib tries and explains its dead ends.

    resolvelib reports each version it rejects with the ranges that clashed on one of
    that version's dependencies (the rejected version's own range last); the first
    :data:`MAX_EXPLANATIONS` distinct ones become sentences of who needs what. Who
    needs a plugin is read from the resolver's state of the round (its first requester,
    that one's, … up to a request).
    """

    def __init__(self, pool: _Pool, max_steps: int) -> None:
        self.pool = pool
        self.max_steps = max_steps
        self.steps = 0
        self.state: _State | None = None
        self.explanations: list[_Explanation] = []
        self._explain_attempts = MAX_EXPLAIN_ATTEMPTS

    # -- what resolvelib reports -------------------------------------------------------

    def ending_round(self, index: int, state: _State) -> None:
        self.state = state  # the state the next round starts from

    def pinning(self, candidate: Candidate) -> None:
        self.tried()

    def rejecting_candidate(
        self, criterion: Criterion[_Requirement, Candidate], candidate: Candidate
    ) -> None:
        self.tried()
        self.explain(criterion.information)

    def tried(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise _TooComplexError

    # -- explanations ----------------------------------------------------------------

    def explain(self, information: Iterable[_Info]) -> None:
        """Record why no version fits these ranges on one plugin (the last one is new)."""
        if not self.wants_explanation():
            return
        found = [
            _Constraint(i.requirement.target, i.requirement.spec, i.requirement.origin, i.parent)
            for i in information
        ]
        new = found[-1]  # resolvelib never reports a clash without the range that made it
        id, parent = new.target, new.parent
        if parent is not None and parent.id == id:
            self.explain_self(parent, new)
        elif not self.pool.all(id):
            self.explain_missing(id, parent)
        else:
            lock = self.pool.lock(id)
            existing = found[:-1] if lock is None else [lock, *found[:-1]]
            self.explain_unsatisfiable(id, existing, new)

    def chain(self, candidate: Candidate) -> list[Candidate]:
        """Who needs ``candidate``: its first requester, that one's, … up to a root."""
        links: list[Candidate] = []
        seen = {candidate.id}
        current = candidate
        criteria = {} if self.state is None else self.state.criteria
        while True:
            criterion = criteria.get(current.id)
            first = next(iter(criterion.information), None) if criterion is not None else None
            parent = None if first is None else first.parent
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

    def explain_missing(self, id: str, parent: Candidate | None) -> None:
        if parent is None:
            message = f"'{id}' is not available from any source"
        else:
            need = _Constraint(id, SpecifierSet(), _Origin.DEPENDENCY, parent)
            message = (
                f"{self.prefix([need])}{self.who(parent)} needs '{id}', which is not "
                "available from any source"
            )
        self.record("dependency-missing", message, _HINTS["dependency-missing"])

    def explain_self(self, candidate: Candidate, need: _Constraint) -> None:
        message = (
            f"{self.prefix([need])}{self.who(candidate)} needs '{candidate.id}' "
            f"{format_range(need.spec)}, which excludes itself"
        )
        self.record("dependency-conflict", message, "fix the plugin's own dependency range")

    def explain_unsatisfiable(self, id: str, existing: list[_Constraint], new: _Constraint) -> None:
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
            if not self.pool.satisfiable(id, [*trial, new]):
                kept = trial
        return kept

    def no_version(self, id: str, new: _Constraint) -> str:
        versions = [format_version(c.version) for c in self.pool.usable(id)]
        shown = ", ".join(versions[:_SHOWN_VERSIONS]) + (
            ", …" if len(versions) > _SHOWN_VERSIONS else ""
        )
        available = f" (available: {shown})" if versions else ""
        if new.origin is _Origin.REQUESTED:
            return f"no version of '{id}' matches {format_range(new.spec)}{available}"
        return f"{self.clause(new)}, but no version of '{id}' matches{available}"

    def api_note(self, id: str, constraints: list[_Constraint]) -> str:
        """Mention versions that would fit but are written for another api_version."""
        reads = self.pool.api_versions
        skipped = [
            c
            for c in self.pool.all(id)
            if not self.pool.api_ok(c)
            and all(self.pool.inside(c.version, k.spec) for k in constraints)
        ]
        if not skipped or reads is None:
            return ""
        first = skipped[0]
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        engine_reads = ", ".join(f"'{a}'" for a in sorted(reads))
        return (
            f"; {first}{more} would fit but is written for api_version "
            f"'{first.api_version}', and this engine reads {engine_reads}"
        )

    def failure(self) -> DependencyError:
        # Never empty: the first dead end resolvelib reports is always explained.
        return _error(self.explanations)

    def too_complex(self, requests: list[_Constraint]) -> DependencyError:
        first = self.explanations[:1]
        message = (
            f"{self.prefix(requests)}gave up after trying {self.max_steps} versions "
            "without finding a combination that works"
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
