// The GraphiQL page of comptoir: served by the app with its assets (no CDN, works offline),
// loaded as a file so that the page's policy allows scripts from 'self' only.
(function () {
  "use strict";

  const EXAMPLE = `# comptoir: GraphiQL
#
# 1. Run this logIn (Ctrl-Enter or the play button). Its variables, below, are the demo
#    ADMIN's; the README lists one demo login per tier ("Demo data and logins").
# 2. Copy tokens.accessToken into the Headers tab (next to Variables, below):
#        {"Authorization": "Bearer <accessToken>"}
#    Every request after that runs as that person (the token lasts 15 minutes;
#    refreshToken gives a new one).
# 3. Then, for instance:
#        query { viewer { person { email fullName } perimeter { members sites } } }
#
# Ctrl-Space completes; the Docs button shows every type and field, in French.
mutation LogIn($input: LogInInput!) {
  logIn(input: $input) {
    tokens { accessToken accessTokenExpiresAt refreshToken }
    errors { code message retryAfterSeconds }
  }
}
`;

  const VARIABLES = JSON.stringify(
    { input: { email: "admin@demo.comptoir.fr", password: "comptoir-demo-2026" } },
    null,
    2,
  );

  const fetcher = GraphiQL.createFetcher({
    url: window.location.origin + window.location.pathname,
  });

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: EXAMPLE,
      variables: VARIABLES,
      defaultHeaders: "{}",
      defaultEditorToolsVisibility: true,
      // A token stays in the tab, never in the browser's storage.
      shouldPersistHeaders: false,
    }),
  );
})();
