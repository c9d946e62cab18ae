# syntax=docker/dockerfile:1
# The portal image: built with the Go release the Makefile pins, run as an
# unprivileged user on distroless (no shell, no package manager).
#
#   make image      # labels it with its version, commit and build time
#
# Base images are pinned by tag; Renovate proposes their updates.

FROM golang:1.27.3 AS build
# The release named above builds, whatever go.mod's toolchain logic says.
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
# .git comes along (see .dockerignore) so the go command stamps the commit
# into the binary: `portal version` and /readyz name it.
COPY . .
RUN go build -trimpath -buildvcs=auto -o /out/portal ./cmd/portal && /out/portal version

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/portalaccess/portal
LABEL org.opencontainers.image.title="portal" \
      org.opencontainers.image.description="Customer-portal access: invitations, sign-ups and access as Temporal workflows" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}"
COPY --from=build /out/portal /portal
# distroless's nonroot user (65532); the portal writes nothing to disk.
USER nonroot:nonroot
EXPOSE 8080
# No shell in the image: the binary asks its own /healthz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/portal", "healthcheck"]
ENTRYPOINT ["/portal"]
CMD ["serve"]
