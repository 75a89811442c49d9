# claimstance service, CPU. Build: docker build -t claimstance .
# It listens on 0.0.0.0, so it refuses to start without API keys: pass a file of their digests
# (printf %s "$KEY" | python -m service hash-key > keys) as -v $PWD/keys:/keys:ro
# -e CLAIMSTANCE_API_KEYS_FILE=/keys, or -e CLAIMSTANCE_API_KEYS=..., or, to serve anyone who
# can connect, -e CLAIMSTANCE_ALLOW_OPEN=true.
# Run with a model directory:  docker run -p 8000:8000 -v $PWD/artifacts/models/<run>:/model \
#                                -v $PWD/keys:/keys:ro -e CLAIMSTANCE_API_KEYS_FILE=/keys claimstance
# or an MLflow model:          docker run -p 8000:8000 -e MLFLOW_TRACKING_URI=http://mlflow:5000 \
#                                -e CLAIMSTANCE_MODEL_URI=models:/claimstance@champion \
#                                -e CLAIMSTANCE_API_KEYS_FILE=/keys -v $PWD/keys:/keys:ro claimstance
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    CLAIMSTANCE_HOST=0.0.0.0 \
    CLAIMSTANCE_PORT=8000 \
    CLAIMSTANCE_MODEL_URI=/model

WORKDIR /app

# Dependencies in their own layer, read from pyproject.toml (the one list of them) and pinned by
# constraints.txt: rebuilt only when those two change, not on every code edit. The CPU build of
# torch goes first, so the project's torch>=2.4 is already met and pip never fetches CUDA wheels.
COPY constraints.txt pyproject.toml ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
    && python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/dependencies.txt \
    && pip install -c constraints.txt -r /tmp/dependencies.txt \
    && rm /tmp/dependencies.txt

# Then the project itself, without resolving anything again.
COPY README.md ./
COPY model ./model
COPY service ./service
COPY training ./training
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 claimstance \
    && mkdir /data && chown 10001 /data
# The service runs in /data, a folder its user can write, not beside site-packages: the
# default MLflow store is ./mlflow.db where it runs (model/store.py). A models:/ URI wants
# MLFLOW_TRACKING_URI naming a server, or a local store mounted at the path it was written
# at, since a SQLite store records its artifacts' absolute paths.
WORKDIR /data
USER 10001

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"]
CMD ["python", "-m", "service"]
