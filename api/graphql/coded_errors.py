"""Every error a client can get carries a code from `ErrorCode` and a French message.

graphql-core and strawberry's protective extensions speak English and give no code: syntax
errors, validation errors, the depth/alias/token limits, malformed global IDs. This
extension rewrites each error of an answer, whatever the channel:

- an error that already carries a code (a permission, a `query_error`) is kept as it is;
- a `Refusal` raised by a query field becomes its code and message;
- errors of the query itself get a code and a French message, the original text kept in
  `extensions.detail` for the developer reading it;
- anything else is a bug: masked as INTERNAL_ERROR (the traceback goes to the log only).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.relay.types import GlobalIDValueError
from strawberry.types.execution import ExecutionResult

from domain.errors import ErrorCode, Refusal

log = logging.getLogger("comptoir.api")

INTERNAL_MESSAGE = "Erreur interne : elle a été journalisée. Réessayez plus tard."


# graphql-core's "Did you mean …?" hints spell out the schema's names: off in production.
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _recode(
    error: GraphQLError,
    code: ErrorCode,
    message: str,
    *,
    detail: bool,
    field: str | None = None,
    suggestions: bool = True,
) -> None:
    """Rewrites the error in place: strawberry hands the same error objects to the answer
    through several lists (pre-execution errors, the result), so replacing is not enough."""
    extensions: dict[str, object] = {"code": code.value}
    if field is not None:
        extensions["field"] = field
    if detail:
        extensions["detail"] = error.message if suggestions else SUGGESTION.sub("", error.message)
    error.message = message
    error.extensions = extensions


def _query_problem(
    error: GraphQLError, max_depth: int, max_aliases: int, max_tokens: int
) -> tuple[ErrorCode, str]:
    text = error.message
    if "maximum operation depth" in text:
        return ErrorCode.QUERY_TOO_COMPLEX, (
            f"Requête trop profonde : {max_depth} niveaux d'imbrication au plus."
        )
    if "aliases found" in text:
        return ErrorCode.QUERY_TOO_COMPLEX, f"Trop d'alias dans la requête : {max_aliases} au plus."
    if "tokens" in text and ("more than" in text or "exceeds" in text):
        return ErrorCode.QUERY_TOO_COMPLEX, (
            f"Requête trop longue : {max_tokens} éléments lexicaux au plus."
        )
    if text.startswith("Syntax Error"):
        return ErrorCode.SYNTAX_ERROR, "La requête GraphQL est mal formée (erreur de syntaxe)."
    if "introspection" in text.lower():
        return ErrorCode.FORBIDDEN, "L'introspection du schéma est désactivée sur ce serveur."
    return ErrorCode.INVALID_QUERY, (
        "La requête ne correspond pas au schéma de l'API (champ, argument ou variable)."
    )


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen = 0
    while error is not None and seen < 8:
        yield error
        error = getattr(error, "original_error", None) or error.__cause__
        seen += 1


def is_expected(error: GraphQLError) -> bool:
    """The client's own doing (a refusal, a bad query, a bad ID): nothing to log as a bug."""
    if (error.extensions or {}).get("code") or error.original_error is None:
        return True
    return any(
        isinstance(cause, Refusal | GlobalIDValueError | GraphQLError)
        for cause in _chain(error.original_error)
    )


def log_unexpected(errors: list[GraphQLError]) -> None:
    """Bugs get their traceback in the log; expected refusals write nothing."""
    for error in errors:
        if not is_expected(error):
            log.error(
                "unexpected error in a GraphQL request at %s",
                ".".join(str(p) for p in error.path or []) or "-",
                exc_info=error.original_error,
            )


class CodedErrors(SchemaExtension):
    """Gives every error of the answer a code and a French message (see the module doc)."""

    def __init__(
        self, *, max_depth: int, max_aliases: int, max_tokens: int, suggestions: bool = True
    ) -> None:
        self.limits = (max_depth, max_aliases, max_tokens)
        self.suggestions = suggestions

    def recode(self, error: GraphQLError) -> None:
        if (error.extensions or {}).get("code"):
            return
        original = error.original_error
        for cause in _chain(original):
            if isinstance(cause, GraphQLError) and (code := (cause.extensions or {}).get("code")):
                # e.g. a scalar's own coded refusal, wrapped by variable coercion
                _recode(error, ErrorCode(code), cause.message, detail=False)
                return
            if isinstance(cause, Refusal):
                _recode(error, cause.code, cause.message, detail=False, field=cause.field)
                return
            if isinstance(cause, GlobalIDValueError):
                _recode(
                    error,
                    ErrorCode.INVALID,
                    "Identifiant global mal formé.",
                    detail=True,
                    suggestions=self.suggestions,
                )
                return
        if original is None or isinstance(original, GraphQLError):
            code, message = _query_problem(error, *self.limits)
            _recode(error, code, message, detail=True, suggestions=self.suggestions)
            return
        _recode(error, ErrorCode.INTERNAL_ERROR, INTERNAL_MESSAGE, detail=False)

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as error:  # parse errors escape the parsing hooks as exceptions
            self.recode(error)
            raise
        context = self.execution_context
        errors = list(context.pre_execution_errors or [])
        result = context.result
        if isinstance(result, GraphQLExecutionResult | ExecutionResult) and result.errors:
            errors += result.errors
        seen: set[int] = set()
        for problem in errors:
            if id(problem) not in seen:
                seen.add(id(problem))
                self.recode(problem)
