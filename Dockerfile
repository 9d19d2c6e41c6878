# Gatehouse in a container: built with the README's command from the module
# proxy alone, run as a non-root user on a distroless base with no shell.
#
#   docker build -t gatehouse --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) --build-arg DATE=$(date -u +%FT%TZ) .
#   docker run -p 8080:8080 -e GATEHOUSE_PUBLIC_URL=http://localhost:8080 -v gatehouse-data:/data gatehouse

FROM golang:1.26 AS build
WORKDIR /src
# Modules come from the toolchain's default proxy only, without its
# ",direct" fallback to version control hosts; go.sum pins every one.
RUN go env -w GOPROXY="$(go env GOPROXY | cut -d, -f1)" GOFLAGS=-mod=readonly
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION="" COMMIT="" DATE=""
# The README's build command (CGO off: a static binary for a base with no libc).
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" -o /out/gatehouse ./cmd/gatehouse \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gatehouse /gatehouse
# The data directory (master key, SQLite when no --store is given, the dev
# CA) belongs to the image's non-root user, so a new volume does too.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# Listening on every interface needs GATEHOUSE_PUBLIC_URL (or --public-url):
# without it serve refuses to start and says so.
ENV GATEHOUSE_ADDR=0.0.0.0:8080 GATEHOUSE_DATA_DIR=/data
EXPOSE 8080
VOLUME /data
ENTRYPOINT ["/gatehouse"]
CMD ["serve"]
