"""The GraphQL kit: what every schema module uses and no schema module owns.

Permissions, connections and cursors, DataLoaders, look-ahead at the selection, global-ID
decoding, error mapping (refusals → `UserError` or field errors) and signed download URLs.
It sits between `api/schema` (which imports it) and `api/resolvers` (which it may call),
so arrows keep pointing down: nothing here imports `api.schema` or the `api` root.
"""
