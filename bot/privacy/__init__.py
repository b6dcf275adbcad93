"""Data protection: retention (anonymising old personal data), export and erasure on request.

* :func:`bot.privacy.service.anonymise_expired` — the retention job (run it daily);
* :func:`bot.privacy.service.export_user` — everything held about a person, as JSON-ready data;
* :func:`bot.privacy.service.erase_user` — erase a person's data, keeping anonymised tickets for statistics.

The ``[privacy]`` configuration section is :class:`bot.privacy.config.PrivacySection`. This
package imports nothing at import time, so that :mod:`bot.config` can use its section model.
"""
