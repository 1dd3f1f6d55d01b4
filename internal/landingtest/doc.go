// Package landingtest holds end-to-end tests of landing files that change
// after they were ingested and of bad files set aside: each step runs the
// medallion command line in its own OS process.
package landingtest
