// Package e2e holds the end-to-end tests: the erhverv binary built and run as
// a real process against a fresh PostgreSQL database, driven over HTTP and
// through headless Chromium (Debian's chromium, via chromedp). Screenshots of
// every browser test land in e2e/artifacts/ for people to look at.
package e2e
