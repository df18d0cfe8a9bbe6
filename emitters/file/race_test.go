//go:build race

package file_test

// raceEnabled: the race detector slows the 1 MB payload tests down about
// tenfold, so they deliver fewer files.
const raceEnabled = true
