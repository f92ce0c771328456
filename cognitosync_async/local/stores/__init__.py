"""One store per area, each over the service's :class:`~cognitosync_async.local.database.Database`:
``records`` (usage, datasets, records, sync sessions, merges), ``pools`` (configuration,
events, bulk publish), ``devices`` (devices, subscriptions, outbox), ``credentials``
(identity-bound credentials) and ``identity`` (Cognito Identity)."""
