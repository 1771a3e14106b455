# spoolrunner: build, install and remove in the GNU way.
#
#   make                      release build, Swift runtime linked in (runs without the toolchain)
#   make install              lays out FHS paths under $(DESTDIR)$(PREFIX); starts nothing
#   make uninstall            removes what install put there (edited config stays)
#   make check                the test suite
#
# DESTDIR is prepended to every install path and never written into a file (GNU convention).
# BUILT=DIR installs binaries already built in DIR instead of building them (packaging, tests).

PREFIX     ?= /usr/local
DESTDIR    ?=
SYSCONFDIR ?= /etc
SPOOLDIR   ?= /var/spool/spoolrunner
BUILT      ?=

BINDIR      = $(PREFIX)/bin
MANDIR      = $(PREFIX)/share/man
DATADIR     = $(PREFIX)/share/spoolrunner
UNITDIR     = $(PREFIX)/lib/systemd/system
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
TMPFILESDIR = $(PREFIX)/lib/tmpfiles.d
BASHDIR     = $(PREFIX)/share/bash-completion/completions
ZSHDIR      = $(PREFIX)/share/zsh/site-functions
FISHDIR     = $(PREFIX)/share/fish/vendor_completions.d
CONFDEFS    = $(SYSCONFDIR)/spoolrunner/definitions

# A plain release binary has a RUNPATH into the toolchain; --static-swift-stdlib links the Swift
# runtime in. On Debian spoolrunner-http's static link needs libcurl4-openssl-dev (FlyingFox
# imports FoundationNetworking, which links libcurl); spoolrunner's does not.
SWIFT_RELEASE = swift build -c release --static-swift-stdlib
BINARIES      = spoolrunner spoolrunner-http
UNITS         = spoolrunner.service spoolrunner-once.service spoolrunner.path spoolrunner.timer spoolrunner-http.service
SCHEMAS       = request status definition
BIN_SOURCE    = $(if $(BUILT),$(BUILT),$(shell $(SWIFT_RELEASE) --show-bin-path 2>/dev/null))

# Paths inside the shipped units, rewritten to this install's (without DESTDIR).
UNIT_PATHS = -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/var/spool/spoolrunner|$(SPOOLDIR)|g' \
             -e 's|/etc/spoolrunner|$(SYSCONFDIR)/spoolrunner|g'

.PHONY: all install uninstall check

all:
	$(SWIFT_RELEASE) --product spoolrunner
	$(SWIFT_RELEASE) --product spoolrunner-http

install: $(if $(BUILT),,all)
	for b in $(BINARIES); do install -D -m 755 "$(BIN_SOURCE)/$$b" "$(DESTDIR)$(BINDIR)/$$b"; done
	for page in docs/man/*.1; do install -D -m 644 "$$page" "$(DESTDIR)$(MANDIR)/man1/$$(basename $$page)"; done
	install -D -m 644 docs/man/spoolrunner.5 "$(DESTDIR)$(MANDIR)/man5/spoolrunner.5"
	install -D -m 644 contrib/completions/spoolrunner.bash "$(DESTDIR)$(BASHDIR)/spoolrunner"
	install -D -m 644 contrib/completions/_spoolrunner "$(DESTDIR)$(ZSHDIR)/_spoolrunner"
	install -D -m 644 contrib/completions/spoolrunner.fish "$(DESTDIR)$(FISHDIR)/spoolrunner.fish"
	for s in $(SCHEMAS); do install -D -m 644 "schemas/$$s.schema.json" "$(DESTDIR)$(DATADIR)/schemas/$$s.schema.json"; done
	for f in definitions/*.yaml definitions/definition.schema.json; do install -D -m 644 "$$f" "$(DESTDIR)$(DATADIR)/examples/$$(basename $$f)"; done
	for f in definitions/scripts/*; do install -D -m 755 "$$f" "$(DESTDIR)$(DATADIR)/examples/scripts/$$(basename $$f)"; done
	if [ ! -e "$(DESTDIR)$(CONFDEFS)" ]; then \
	    install -d -m 755 "$(DESTDIR)$(CONFDEFS)/scripts"; \
	    cp -p "$(DESTDIR)$(DATADIR)/examples/"*.yaml "$(DESTDIR)$(DATADIR)/examples/definition.schema.json" "$(DESTDIR)$(CONFDEFS)/"; \
	    cp -p "$(DESTDIR)$(DATADIR)/examples/scripts/"* "$(DESTDIR)$(CONFDEFS)/scripts/"; \
	fi
	for u in $(UNITS); do install -d -m 755 "$(DESTDIR)$(UNITDIR)"; sed $(UNIT_PATHS) "contrib/systemd/$$u" > "$(DESTDIR)$(UNITDIR)/$$u"; chmod 644 "$(DESTDIR)$(UNITDIR)/$$u"; done
	install -d -m 755 "$(DESTDIR)$(SYSUSERSDIR)" "$(DESTDIR)$(TMPFILESDIR)"
	sed -e 's|/var/spool/spoolrunner|$(SPOOLDIR)|g' contrib/sysusers.d/spoolrunner.conf > "$(DESTDIR)$(SYSUSERSDIR)/spoolrunner.conf"
	sed -e 's|/var/spool/spoolrunner|$(SPOOLDIR)|g' contrib/tmpfiles.d/spoolrunner.conf > "$(DESTDIR)$(TMPFILESDIR)/spoolrunner.conf"
	chmod 644 "$(DESTDIR)$(SYSUSERSDIR)/spoolrunner.conf" "$(DESTDIR)$(TMPFILESDIR)/spoolrunner.conf"
	@echo
	@echo "installed under $(DESTDIR)$(PREFIX); nothing was started. Next, as root:"
	@echo "  systemd-sysusers $(SYSUSERSDIR)/spoolrunner.conf"
	@echo "  systemd-tmpfiles --create $(TMPFILESDIR)/spoolrunner.conf"
	@echo "  systemctl daemon-reload"
	@echo "  systemctl enable --now spoolrunner"

uninstall:
	for b in $(BINARIES); do rm -f "$(DESTDIR)$(BINDIR)/$$b"; done
	for page in docs/man/*.1; do rm -f "$(DESTDIR)$(MANDIR)/man1/$$(basename $$page)"; done
	rm -f "$(DESTDIR)$(MANDIR)/man5/spoolrunner.5"
	rm -f "$(DESTDIR)$(BASHDIR)/spoolrunner" "$(DESTDIR)$(ZSHDIR)/_spoolrunner" "$(DESTDIR)$(FISHDIR)/spoolrunner.fish"
	for u in $(UNITS); do rm -f "$(DESTDIR)$(UNITDIR)/$$u"; done
	rm -f "$(DESTDIR)$(SYSUSERSDIR)/spoolrunner.conf" "$(DESTDIR)$(TMPFILESDIR)/spoolrunner.conf"
	# The definitions in $(CONFDEFS) go only where they are still the untouched examples.
	if [ -d "$(DESTDIR)$(CONFDEFS)" ]; then \
	    for f in $$(cd "$(DESTDIR)$(CONFDEFS)" && find . -type f); do \
	        cmp -s "$(DESTDIR)$(CONFDEFS)/$$f" "$(DESTDIR)$(DATADIR)/examples/$$f" && rm -f "$(DESTDIR)$(CONFDEFS)/$$f"; \
	    done; \
	    rmdir "$(DESTDIR)$(CONFDEFS)/scripts" "$(DESTDIR)$(CONFDEFS)" "$(DESTDIR)$(SYSCONFDIR)/spoolrunner" 2>/dev/null || true; \
	fi
	rm -rf "$(DESTDIR)$(DATADIR)"
	@echo "removed spoolrunner from $(DESTDIR)$(PREFIX) (the spool $(SPOOLDIR) and the user are left alone)"

# The static release binaries carry the Swift runtime (no libswiftCore.so, no RUNPATH into the
# toolchain), then the test suite.
check: all
	scripts/check-static-binary.sh "$(BIN_SOURCE)"
	swift test
