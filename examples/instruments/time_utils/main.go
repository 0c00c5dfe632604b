// time_utils answers questions about the current time.
//
//	?op=unix|iso|rfc822|weekday|year|month|day   one fact about now
//	?op=add&duration=2h30m                        now plus a Go duration
//	?op=diff&target=2030-01-01T00:00:00Z          time from now until target
//	(no op) &format=kitchen|stamp|rfc822|...      now in a named or Go layout
//
// Every operation honours ?tz=Europe/Berlin (an IANA zone name).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	// A WASI guest has no zoneinfo files to read, so embed the database
	// (about 450 KB) to make ?tz= work.
	_ "time/tzdata"
)

type payload struct {
	Params map[string]string `json:"params"`
}

// layouts maps the format shortcuts users may pass to Go layouts; any other
// value of ?format= is used as a Go layout itself.
var layouts = map[string]string{
	"kitchen":  time.Kitchen,
	"stamp":    time.Stamp,
	"rfc822":   time.RFC822,
	"rfc1123":  time.RFC1123,
	"rfc3339":  time.RFC3339,
	"iso":      time.RFC3339,
	"date":     time.DateOnly,
	"time":     time.TimeOnly,
	"datetime": time.DateTime,
}

const operations = "unix, iso, rfc822, add, diff, weekday, year, month, day"

func main() {
	var p payload
	if err := json.NewDecoder(os.Stdin).Decode(&p); err != nil && err != io.EOF {
		fmt.Fprintln(os.Stderr, "time_utils: cannot decode request:", err)
		os.Exit(1)
	}
	tz := p.Params["tz"]
	now := time.Now()
	if tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			now = now.In(loc)
		} else {
			// Not fatal: the answer is still useful in UTC.
			fmt.Printf("Warning: invalid timezone '%s', using UTC\n", tz)
		}
	}

	switch op := strings.ToLower(p.Params["op"]); op {
	case "unix":
		fmt.Printf("Unix timestamp: %d\n", now.Unix())
	case "iso":
		fmt.Printf("ISO 8601: %s\n", now.Format(time.RFC3339))
	case "rfc822":
		fmt.Printf("RFC 822: %s\n", now.Format(time.RFC822))
	case "add":
		add(now, p.Params["duration"])
	case "diff":
		diff(now, p.Params["target"])
	case "weekday":
		fmt.Printf("Day of week: %s\n", now.Weekday())
	case "year":
		fmt.Printf("Year: %d\n", now.Year())
	case "month":
		fmt.Printf("Month: %s (%d)\n", now.Month(), int(now.Month()))
	case "day":
		fmt.Printf("Day: %d\n", now.Day())
	case "":
		current(now, tz, p.Params["format"])
	default:
		fmt.Printf("Error: unsupported operation '%s'\n", op)
		fmt.Printf("Operations: %s\n", operations)
	}
}

func add(now time.Time, duration string) {
	if duration == "" {
		fmt.Println("Error: duration parameter required for add operation (e.g. duration=2h30m)")
		return
	}
	d, err := time.ParseDuration(duration)
	if err != nil {
		fmt.Printf("Error: invalid duration '%s' (use units h, m, s, ms, e.g. 2h30m)\n", duration)
		return
	}
	fmt.Printf("Time + %s = %s\n", duration, now.Add(d).Format(time.RFC3339))
}

func diff(now time.Time, target string) {
	if target == "" {
		fmt.Println("Error: target parameter required for diff operation")
		return
	}
	t, err := time.Parse(time.RFC3339, target)
	if err != nil {
		// A bare date is a common enough input to accept (midnight, in tz).
		t, err = time.ParseInLocation(time.DateOnly, target, now.Location())
	}
	if err != nil {
		fmt.Printf("Error: invalid target time '%s' (use RFC 3339, e.g. 2030-01-01T00:00:00Z)\n", target)
		return
	}
	fmt.Printf("Difference: %s\n", t.Sub(now))
}

func current(now time.Time, tz, format string) {
	layout := time.RFC3339
	if format != "" {
		layout = format
		if named, ok := layouts[strings.ToLower(format)]; ok {
			layout = named
		}
	}
	fmt.Printf("Current time: %s\n", now.Format(layout))
	if tz != "" {
		fmt.Printf("Timezone: %s\n", tz)
	}
	fmt.Printf("Unix timestamp: %d\n", now.Unix())
}
