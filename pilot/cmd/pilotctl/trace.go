package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minipilot/minipilot/xds/server"
)

func trace(e *env, args []string) error {
	fs := flags(e, "trace", "[GENERATION]",
		"For a push of the model (the latest by default; GENERATION as /debug/pushz and proxy-status -o wide show it):\n"+
			"what changed, which proxies were sent which types and when each acknowledged them, timed from when the\n"+
			"change was seen. Pilot remembers the last 32 pushes.")
	connect := pilotFlags(fs, e)
	output := fs.String("o", "table", "output: table or json")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) > 1 {
		return usagef("at most one generation, got %d arguments", len(args))
	}
	var resp struct {
		Pushes []server.PushRecord `json:"pushes"`
	}
	if err := connect().getJSON("/debug/pushz", &resp); err != nil {
		return err
	}
	if len(resp.Pushes) == 0 {
		return fmt.Errorf("pilot has pushed nothing yet")
	}
	push := resp.Pushes[len(resp.Pushes)-1]
	if len(args) == 1 {
		gen, err := strconv.ParseUint(args[0], 10, 64)
		if err != nil {
			return usagef("generation %q is not a number", args[0])
		}
		found := false
		for _, p := range resp.Pushes {
			if p.Generation == gen {
				push, found = p, true
			}
		}
		if !found {
			return fmt.Errorf("no push of generation %d is remembered (pilot keeps generations %d to %d)", gen,
				resp.Pushes[0].Generation, resp.Pushes[len(resp.Pushes)-1].Generation)
		}
	}
	if *output == "json" {
		fmt.Fprintln(e.stdout, canonical(push))
		return nil
	}
	if *output != "table" {
		return usagef("-o %q: want table or json", *output)
	}
	what := "config change"
	if push.EndpointsOnly {
		what = "endpoints of " + strings.Join(push.Services, ", ")
	}
	origin := push.ChangedAt
	if origin.IsZero() {
		origin = push.PushedAt
	}
	fmt.Fprintf(e.stdout, "Generation %d (%s): seen %s, pushed %s later\n", push.Generation, what,
		origin.Local().Format("15:04:05.000"), since(origin, push.PushedAt))
	tw := tabwriter.NewWriter(e.stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTREAM\tTYPE\tSENT\tACKED\tCONVERGED")
	for _, sp := range push.Streams {
		if len(sp.Types) == 0 {
			fmt.Fprintf(tw, "%s\t%d\t-\tnothing changed for it\t-\t-\n", sp.Node, sp.Stream)
			continue
		}
		for _, t := range statusTypes {
			tp := sp.Types[t]
			if tp == nil {
				continue
			}
			acked := since(origin, tp.AckedAt)
			if tp.Nack != "" {
				acked = "REFUSED: " + oneLine(tp.Nack)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", sp.Node, sp.Stream, strings.ToUpper(t), since(origin, tp.SentAt), acked, since(origin, sp.ConvergedAt))
		}
	}
	return tw.Flush()
}

// since is the time from origin to t, "+12ms", or "-" when t is unset.
func since(origin, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return "+" + t.Sub(origin).Round(time.Millisecond).String()
}
