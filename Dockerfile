# tokengate container image.
#
#   docker build -t tokengate --build-arg VERSION=$(git describe --always --dirty) .
#   docker run --rm -p 8080:8080 -e TOKENGATE_TOKEN_SECRET=... \
#     -v "$PWD/config.yaml:/etc/tokengate/config.yaml:ro" tokengate   (the image has no users)
#
# /var/lib/tokengate/keys is an empty directory owned by the runtime user: a volume mounted there
# starts with that owner, so `tokengate keygen --if-missing --out /var/lib/tokengate/keys/...` can
# write the signing key on first start (docker-compose.yml does).
#
# Build stage: a static, trimmed binary. go.mod/go.sum are copied first so the module download is a
# layer of its own, reused until the dependencies change.
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
ARG VERSION=dev
RUN go build -trimpath -ldflags "-s -w -X github.com/tokengate/tokengate/cmd.version=${VERSION}" -o /out/tokengate . \
 && /out/tokengate version \
 && mkdir -p /out/etc/tokengate /out/keys \
 && touch /out/keys/.keep \
 && cp deploy/config.image.yaml /out/etc/tokengate/config.yaml \
 && TOKENGATE_CONFIG=/out/etc/tokengate/config.yaml /out/tokengate check-config >/dev/null

# Runtime stage: nothing but the binary and the default config. No shell, no package manager, no CA
# certificates (tokengate makes no outgoing TLS connections; Redis is reached over plain TCP).
FROM scratch
COPY --from=build /out/tokengate /tokengate
# A configuration WITHOUT USERS (deploy/config.image.yaml): the image ships no known login. Mount
# your own configuration over it, or a users file (see that file and docs/operations.md).
COPY --from=build /out/etc/tokengate/config.yaml /etc/tokengate/config.yaml
# Where a volume holds the signing key that keygen --if-missing writes on first start.
COPY --from=build --chown=65532:65532 /out/keys /var/lib/tokengate/keys
# A numeric non-root user: scratch has no /etc/passwd, and a number needs none.
USER 65532:65532
ENV TOKENGATE_CONFIG=/etc/tokengate/config.yaml \
    TOKENGATE_SERVER_ADDR=0.0.0.0:8080 \
    TOKENGATE_LOG_FORMAT=json
EXPOSE 8080
# scratch has no curl: the binary probes its own /healthz (port taken from TOKENGATE_SERVER_ADDR).
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["/tokengate", "healthcheck"]
ENTRYPOINT ["/tokengate"]
CMD ["serve"]
