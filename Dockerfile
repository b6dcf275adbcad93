# helpdesk-bot container image: slim, non-root, the desk folder as a volume, a healthcheck on /readyz.
#   podman build -t helpdesk-bot .            (or docker build; BASE picks another Python 3.11+ image)
#   podman run -v helpdesk-desk:/desk -e SLACK_BOT_TOKEN=… helpdesk-bot
# The first start creates /desk (bot.toml, knowledge/, knowledge/drafts/, helpdesk.db) with
# `helpdesk-bot init`; edit /desk/bot.toml or set HELPDESK_… variables. Any helpdesk-bot command runs in
# the same desk: `podman run -i helpdesk-bot helpdesk-bot chat --user alice`.
# tests/test_container.py builds it on a Debian base made with mmdebstrap and smoke-tests it (.ci/run).
ARG BASE=python:3.11-slim
FROM ${BASE} AS build
WORKDIR /src
COPY . .
# a throw-away venv: Debian's python3 has no pip of its own, the python images do
RUN python3 -m venv /build-venv && /build-venv/bin/pip wheel --no-cache-dir --no-deps -w /wheels .

FROM ${BASE}
ARG EXTRAS=postgresql
RUN python3 -m venv /opt/helpdesk \
    && useradd --system --uid 10001 --home-dir /desk --shell /usr/sbin/nologin helpdesk \
    && mkdir /desk && chown helpdesk /desk
COPY --from=build /wheels /wheels
RUN /opt/helpdesk/bin/pip install --no-cache-dir "$(ls /wheels/helpdesk_bot-*.whl)[${EXTRAS}]" && rm -rf /wheels
ENV PATH=/opt/helpdesk/bin:$PATH \
    HELPDESK_CONFIG=/desk/bot.toml \
    HELPDESK_OPS__HOST=0.0.0.0 \
    HELPDESK_OPS__PORT=9480 \
    PYTHONUNBUFFERED=1
USER helpdesk
WORKDIR /desk
VOLUME /desk
EXPOSE 9480
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python3 -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9480/readyz', timeout=4).status != 200)"
# the first start of a new volume makes the desk folder, then the command runs in it
ENTRYPOINT ["sh", "-c", "[ -f /desk/bot.toml ] || helpdesk-bot init /desk >&2; exec \"$@\"", "helpdesk-bot"]
CMD ["helpdesk-bot", "run"]
