//go:build !linux

package decision

import "time"

// threadCPU is unavailable here; CPU percentiles then read zero.
func threadCPU() time.Duration { return 0 }

// processCPU is unavailable here; the CPU figure then reads zero.
func processCPU() time.Duration { return 0 }
