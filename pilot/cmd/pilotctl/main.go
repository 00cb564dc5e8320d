// Command pilotctl is the operator's CLI for a running minipilot: which proxies are in sync, what each
// was sent, what a change would send before it is applied, and who took a push; and, offline, an
// analysis of manifests (or a cluster) before they are applied.
//
// Exit codes: 0 success; 1 the command failed (pilot unreachable, a proxy not connected, manifests
// that cannot be read); 2 a usage error; 3 analyze found errors (or, with --fail-on warning,
// warnings).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/minipilot/minipilot/pilot"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitProblems = 3
)

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(env *env, args []string) error
}

var commands = []command{
	{"proxy-status", "[<node>]", "sync state of every connected proxy (SYNCED, NOT SENT, STALE, ERROR), or of one proxy: what it has against what it should have", proxyStatus},
	{"proxy-config", "clusters|endpoints|listeners|routes|all <node>", "what a proxy was sent, as tables (or -o json|yaml)", proxyConfig},
	{"analyze", "[-f FILE|DIR]... [--kubeconfig FILE]", "check manifests (or a cluster, or both) offline: the validator and cross-object analyzers", analyzeCmd},
	{"preview", "-f CHANGE.yaml --node <node>", "what a proxy would receive if manifests were applied, as a diff against what it has now", preview},
	{"trace", "[GENERATION]", "for a push (the latest by default): which proxies were sent it and when each acknowledged it", trace},
	{"version", "", "print pilotctl's version", versionCmd},
}

// env is what every command is given: where pilot is and where to write.
type env struct {
	stdout, stderr io.Writer
}

// usageError is a mistake in how pilotctl was called: exit status 2, with a hint.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// problemsFound ends analyze with exit status 3 once its report is printed.
type problemsFound struct{ n int }

func (e problemsFound) Error() string { return fmt.Sprintf("%d problem(s) found", e.n) }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		printUsage(stdout)
		return exitOK
	}
	var cmd *command
	for i := range commands {
		if commands[i].name == args[0] || alias(args[0]) == commands[i].name {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "pilotctl: unknown command %q\nRun 'pilotctl --help' for the commands.\n", args[0])
		return exitUsage
	}
	err := cmd.run(e, args[1:])
	var ue usageError
	var pf problemsFound
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "pilotctl %s: %s\nRun 'pilotctl %s --help' for usage.\n", cmd.name, ue.msg, cmd.name)
		return exitUsage
	case errors.As(err, &pf):
		return exitProblems
	default:
		fmt.Fprintf(stderr, "pilotctl %s: %v\n", cmd.name, err)
		return exitFailed
	}
}

// alias maps istioctl's short names.
func alias(name string) string {
	switch name {
	case "ps":
		return "proxy-status"
	case "pc":
		return "proxy-config"
	}
	return name
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "pilotctl: the operator's CLI for minipilot.")
	fmt.Fprintln(w, "\nUsage: pilotctl <command> [flags] [args]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-13s %s\n  %-13s   %s\n", c.name, c.args, "", c.summary)
	}
	fmt.Fprintln(w, `
Pilot is reached at --addr (default $PILOTCTL_ADDR, else 127.0.0.1:15014: pilot's debug port). For a
pilot in a cluster, forward the port first: kubectl -n <ns> port-forward deploy/minipilot 15014
A <node> is a node ID (sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local) or, as istioctl names it, <pod>.<namespace>.

Exit codes: 0 success; 1 the command failed; 2 a usage error; 3 analyze found errors.
Run 'pilotctl <command> --help' for a command's flags.`)
}

// flags makes a command's flag set, with --help printing its usage.
func flags(e *env, name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "%s\n\nUsage: pilotctl %s [flags] %s\n\nFlags:\n", summary, name, args)
		fs.VisitAll(func(f *flag.Flag) { fmt.Fprint(e.stdout, pilot.FlagLine(f)) })
	}
	return fs
}

// parse parses flags that may come before or after the positional arguments (pilotctl pc routes
// NODE -o json), and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.Usage()
				return nil, err
			}
			if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
				return nil, usagef("unknown flag --%s", name)
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func versionCmd(e *env, args []string) error {
	fs := flags(e, "version", "", "Print pilotctl's version.")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, versionLine())
	return nil
}
