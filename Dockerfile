# The simatch service image (used by docker-compose.yml).
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvoikko1 voikko-fi dict-freedict-fin-eng dict-freedict-eng-fin \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY indexes ./indexes
# The Teams extra too: the chat assistant answers on Teams from the same image.
RUN pip install --no-cache-dir ".[voikko,teams]" \
 && python -m simatch.text.build_tables
ENV SIMATCH_INDEXES_DIR=/app/indexes
EXPOSE 8000
CMD ["simatch", "serve", "--host", "0.0.0.0", "--port", "8000"]
