"""SWE-style repair as a task kind: repository tasks and their loaders, search/replace edits,
patches, the patch policy, localization, and the judged test runs (`ponder repair`).

The search itself is the one every kind shares (`ponder.search`, through the graph); the
repair kind (`ponder.kinds.repair`) renders the prompts and turns replies into patches, and
the `repo_tests` verifier (`ponder.verifiers.repo_tests`) runs a repository's tests.
"""
