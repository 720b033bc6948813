# stagegate's container image: a static binary on distroless, run as the nonroot user (65532).
#   docker build -t ghcr.io/stagegate-dev/stagegate:v0.1.0 .
# deploy/manifests runs it with a read-only root filesystem: the Git cache and /tmp are volumes.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
RUN go build -trimpath -ldflags="-s -w" -o /out/stagegate ./cmd/stagegate

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/stagegate /usr/local/bin/stagegate
USER nonroot:nonroot
EXPOSE 8080
# The entrypoint is the binary, not "stagegate run", so the same image runs every verb
# (docker run IMAGE gate -f DIR); with no arguments it runs the agent.
ENTRYPOINT ["/usr/local/bin/stagegate"]
CMD ["run", "--config=/etc/stagegate/stagegate.yaml", "--cache-dir=/var/cache/stagegate"]
