"""The GraphQL schema (`schema.graphql` at the root): Strawberry types wrapping `dynamo/` records."""
