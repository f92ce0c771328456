"""The operations' handlers, one module per area: ``records`` (usage, datasets,
records), ``sync_trigger``, ``pools`` (configuration, events, bulk publish),
``devices`` (push), ``identity`` (Cognito Identity, AWS JSON 1.1), and ``call``
(the request a Cognito Sync handler gets)."""
