"""Persisted operations: a client sends `extensions.persistedQuery.sha256Hash` (the Apollo and
Relay convention) instead of the document, and the first-party apps' operations form a trusted
manifest kept in the repo.

- The manifest's sources are `api/operations/*.graphql`, one operation per file; the JSON
  manifest `persisted-operations.json` (Apollo's manifest format, what front-end tooling
  reads) is generated from them by `comptoir export-operations`, and a test fails when it
  drifts or when an operation stops validating against the schema.
- A hash the server knows (the manifest's, or one registered earlier by this process) runs its
  document; an unknown one answers `PERSISTED_QUERY_NOT_FOUND`, and the client sends the hash
  with the document, which registers it (automatic persisted queries; refused when the hash
  does not match the document).
- `COMPTOIR_PERSISTED_OPERATIONS_ONLY=true` (production): any operation outside the manifest
  is refused with `OPERATION_NOT_IN_MANIFEST`, whether sent by hash or in full. Nothing else
  reaches the parser then, and every document that does is one of a few known strings, so the
  parser and validation caches of the schema always hit.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from domain.errors import ErrorCode

OPERATIONS_DIR = Path(__file__).resolve().parent / "operations"
MANIFEST_FILE = Path(__file__).resolve().parent.parent / "persisted-operations.json"
MAX_REGISTERED = 1000  # hashes registered by clients, per process (least recently used out)
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256_of(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PersistedOperation:
    id: str  # the sha256 of `body`, as clients compute it
    name: str
    type: str  # query, mutation
    body: str


def operations_from_sources(folder: Path = OPERATIONS_DIR) -> list[PersistedOperation]:
    """The manifest's operations, from their `.graphql` files (sorted by name)."""
    found = []
    for path in sorted(folder.glob("*.graphql")):
        body = path.read_text(encoding="utf-8")
        definitions = [d for d in parse(body).definitions if isinstance(d, OperationDefinitionNode)]
        if len(definitions) != 1 or definitions[0].name is None:
            raise ValueError(f"{path.name}: one named operation per file")
        operation = definitions[0]
        assert operation.name is not None
        if operation.name.value != path.stem:
            raise ValueError(f"{path.name}: the operation must be named {path.stem}")
        found.append(
            PersistedOperation(
                id=sha256_of(body),
                name=operation.name.value,
                type=operation.operation.value,
                body=body,
            )
        )
    return found


def manifest_json(operations: list[PersistedOperation]) -> str:
    """Apollo's persisted query manifest format."""
    document = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": o.id, "name": o.name, "type": o.type, "body": o.body} for o in operations
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


@cache
def trusted_manifest(path: Path = MANIFEST_FILE) -> dict[str, PersistedOperation]:
    """The manifest kept in the repo, by hash (read once per process)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return {
        o["id"]: PersistedOperation(id=o["id"], name=o["name"], type=o["type"], body=o["body"])
        for o in document["operations"]
    }


def _refusal(code: ErrorCode, message: str) -> ExecutionResult:
    return ExecutionResult(
        data=None, errors=[GraphQLError(message, extensions={"code": code.value})]
    )


NOT_FOUND = (
    ErrorCode.PERSISTED_QUERY_NOT_FOUND,
    "PersistedQueryNotFound : opération inconnue, renvoyez-la avec son texte.",
)
NOT_IN_MANIFEST = (
    ErrorCode.OPERATION_NOT_IN_MANIFEST,
    "Seules les opérations du manifeste des applications sont acceptées.",
)


class PersistedOperations:
    """Turns a request's persisted-query extension into its document, or into a refusal."""

    def __init__(self, manifest: dict[str, PersistedOperation], *, only_manifest: bool) -> None:
        self.manifest = manifest
        self.only_manifest = only_manifest
        self.registered: OrderedDict[str, str] = OrderedDict()
        self._manifest_bodies = {o.body for o in manifest.values()}

    def document_of(self, sha: str) -> str | None:
        known = self.manifest.get(sha)
        if known is not None:
            return known.body
        body = self.registered.get(sha)
        if body is not None:
            self.registered.move_to_end(sha)
        return body

    def resolve(self, data: GraphQLRequestData) -> GraphQLRequestData | ExecutionResult:
        extension: Any = (data.extensions or {}).get("persistedQuery")
        if extension is None:
            if self.only_manifest and data.query not in self._manifest_bodies:
                return _refusal(*NOT_IN_MANIFEST)
            return data
        sha = extension.get("sha256Hash") if isinstance(extension, dict) else None
        if not isinstance(sha, str) or not SHA256.match(sha) or extension.get("version") != 1:
            return _refusal(
                ErrorCode.INVALID,
                "extensions.persistedQuery attend {version: 1, sha256Hash: <64 chiffres hex>}.",
            )
        if not data.query:
            body = self.document_of(sha)
            if body is None:
                return _refusal(*(NOT_IN_MANIFEST if self.only_manifest else NOT_FOUND))
            return replace(data, query=body)
        if not isinstance(data.query, str) or sha256_of(data.query) != sha:
            return _refusal(ErrorCode.INVALID, "Le hachage sha256Hash ne correspond pas au texte.")
        if sha not in self.manifest:
            if self.only_manifest:
                return _refusal(*NOT_IN_MANIFEST)
            self.registered[sha] = data.query
            self.registered.move_to_end(sha)
            while len(self.registered) > MAX_REGISTERED:
                self.registered.popitem(last=False)
        return data
