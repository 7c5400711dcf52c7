# otpservice: one process, uvicorn, listening on $HOST:$PORT (0.0.0.0:3000).
# Build: docker build -t otpservice .   Run: docker run -p 3000:3000 -v otp-data:/data otpservice

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY otpservice ./otpservice
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite+aiosqlite:////data/otpservice.db
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels otpservice \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --user-group --home-dir /data --create-home --shell /usr/sbin/nologin otpservice
USER otpservice
WORKDIR /data
# SQLite database (and, with the console provider, the generated otpservice.secret) live here.
VOLUME ["/data"]
EXPOSE 3000
# uvicorn finishes in-flight requests on SIGTERM (up to 20 s): give `docker stop -t` at least that.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/-/healthz' % os.environ.get('PORT', '3000'), timeout=2)"]
CMD ["otpservice", "serve"]
