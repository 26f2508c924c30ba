"""The facade: ``Engine.load`` → ``validate`` → ``compile`` → ``run``.

>>> import asyncio
>>> from engine.simulator import Simulator
>>> engine = Engine()
>>> doc = engine.load('api_version: "1.1"\\nkind: action\\nname: sum\\nsteps:\\n'
...                   '  - id: calc\\n    tool: km_engine_control\\n'
...                   '    with: {operation: calculate, expression: "6 * 7"}\\n'
...                   'outputs: {answer: "{{ steps.calc.result.data.result | int }}"}\\n')
>>> pipeline = engine.compile(doc)
>>> asyncio.run(engine.run(pipeline, bridge=Simulator())).outputs
{'answer': 42}
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.compile.compiler import Compiler, content_hash
from engine.diagnostics.errors import Diagnostic, ManifestValidationError
from engine.lang.expressions import shared_expressions
from engine.lang.templates import shared_templates
from engine.load.loader import load_bytes, load_text
from engine.load.sourcemap import Document
from engine.run import run
from engine.run.model import Pipeline, RunResult
from engine.tools.bridge import ToolBridge
from engine.tools.catalog import ToolCatalog
from engine.validate import ValidationContext, validate


class Engine:
    """Loads, validates, compiles (with a cache by content hash) and runs actions."""

    def __init__(self, *, catalog: ToolCatalog | None = None) -> None:
        self.catalog = catalog or ToolCatalog.builtin()
        self.templates = shared_templates()
        self.expressions = shared_expressions()
        self._compilers: dict[int, tuple[ToolCatalog, Compiler]] = {}
        self._cache: dict[tuple[str, str | None, int], Pipeline] = {}

    # -- stages ----------------------------------------------------------------------------

    def load(self, text: str, *, file: str | None = None, format: str | None = None) -> Document:
        """Parse manifest text (YAML or JSON) with its source map (a 1.0 file upgraded
        against this engine's catalog)."""
        return load_text(text, file=file, format=format, catalog=self.catalog)

    def load_file(self, path: str | Path) -> Document:
        """Read and parse a manifest file."""
        path = Path(path)
        return load_bytes(path.read_bytes(), file=str(path), catalog=self.catalog)

    def validate(
        self, document: Document, context: ValidationContext | None = None
    ) -> list[Diagnostic]:
        """Every problem with the manifest, best first."""
        return validate(document, context or ValidationContext(catalog=self.catalog))

    def compile(
        self,
        document: Document,
        *,
        context: ValidationContext | None = None,
        plugin: str | None = None,
        catalog: ToolCatalog | None = None,
        check: bool = True,
    ) -> Pipeline:
        """Validate (unless ``check`` is False) and compile, reusing an earlier compile of
        the same content. Raises :class:`ManifestValidationError` listing every error."""
        catalog = catalog or (context.catalog if context is not None else self.catalog)
        key = (content_hash(document), plugin, id(catalog))
        cached = self._cache.get(key)
        if cached is not None and cached.file == document.file:
            return cached
        if check:
            problems = [
                d
                for d in self.validate(
                    document, context or ValidationContext(catalog=catalog, plugin=plugin)
                )
                if d.is_error
            ]
            if problems:
                first = problems[0]
                raise ManifestValidationError(
                    f"{first.location}: {first.message}"
                    + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                    code=first.code,
                    hint=first.hint,
                    diagnostics=problems,
                )
        pipeline = self._compiler(catalog).compile(document, plugin=plugin)
        self._cache[key] = pipeline
        return pipeline

    async def run(
        self,
        pipeline: Pipeline,
        inputs: Mapping[str, Any] | None = None,
        *,
        bridge: ToolBridge,
        **options: Any,
    ) -> RunResult:
        """Run a compiled pipeline (see :func:`engine.run.run` for the options)."""
        return await run(pipeline, inputs, bridge=bridge, **options)

    def _compiler(self, catalog: ToolCatalog) -> Compiler:
        entry = self._compilers.get(id(catalog))
        if entry is None or entry[0] is not catalog:
            entry = (
                catalog,
                Compiler(catalog=catalog, templates=self.templates, expressions=self.expressions),
            )
            self._compilers[id(catalog)] = entry
        return entry[1]
