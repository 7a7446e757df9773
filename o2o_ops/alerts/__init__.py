"""Alerts and scheduled digests: rules evaluated against the warehouse, each person's
subscriptions, and delivery by mail and chat webhooks with retries and a delivery log.

- :mod:`.store`      the state file (SQLite, setting ``O2O_ALERTS_DB``): rules, subscriptions,
                     open alerts, the delivery outbox and its log, refused imports.
- :mod:`.people`     recipients from the users file (email, time zone, chat webhook) and scope.
- :mod:`.rules`      rule kinds and their evaluation (threshold, symmetry attention, data
                     freshness, failed import).
- :mod:`.subscriptions` each person's alerts mode and digest weekday/hour.
- :mod:`.import_failures` the importer's hook recording refused and failed imports.
- :mod:`.messages`   what a person receives: subject, text, HTML, link back to the app.
- :mod:`.channels`   SMTP and the webhook formats (generic JSON, Slack, WeCom, DingTalk, Feishu).
- :mod:`.outbox`     delivery with retries and exponential backoff; never twice once delivered.
- :mod:`.engine`     ``alerts run``: evaluate, open/clear alerts, queue deliveries.
- :mod:`.digest`     ``digest send``: the weekly report scoped to each recipient.
- :mod:`.scheduler`  the long-running loop.
- :mod:`.views`      what the Alerts page reads and changes (who may do what).

Nothing here imports streamlit; ``pages/alerts.py`` is the app's side.
"""
