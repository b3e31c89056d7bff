# syntax=docker/dockerfile:1
# Multi-stage build of the erhverv platform binary: a static Go binary on a
# distroless base, running as a non-root user. Assets, templates, policies
# and migrations are embedded, so the image holds one file.
#
#   docker build -t erhverv .
#   docker run -p 8080:8080 -e DATABASE_URL=... -e ERHVERV_DATA_KEY=... erhverv

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/erhverv ./cmd/erhverv

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/erhverv /usr/local/bin/erhverv
USER nonroot:nonroot
ENV ERHVERV_ADDR=0.0.0.0:8080 \
    ERHVERV_LOG_FORMAT=json
EXPOSE 8080
# The probe is the binary itself: distroless has no shell or curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/erhverv", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/erhverv"]
CMD ["serve"]
