// porcheck: porcupine (vendored in ../porcupine) checking histories for `pnpm bench:anchors`.
//
// It serves requests on stdin, one a line, so that the suite can interleave it with
// Concord's checker run by run without paying a process start per check:
//
//	kv <repeat> <batches> <file>       porcupine's test_data/kv format, porcupine's own KV model (a missing key reads as "")
//	etcd <repeat> <batches> <file>     porcupine's test_data/jepsen etcd logs, porcupine's own etcd model
//	concord <repeat> <batches> <file>  a JSON array of Concord KV operations (the suite's dump of a generated history),
//	                                   Concord's KV model (a missing key is not "")
//
// and answers each with one JSON line: {"linearizable":bool,"ms":float,"cpuMs":float,"operations":int}, ms
// being the median over `batches` batches of the mean wall time of `repeat` checks by porcupine alone
// (CheckEvents or CheckOperations; the file is parsed once and cached), cpuMs the same of the process's
// CPU time (user and system, every thread: the goroutines that check partitions in parallel and the
// garbage collector's), or {"error":"..."}. The parsers read the formats the way porcupine's own tests do (porcupine_test.go's
// parseKvLog and parseJepsenLog): same events, same meaning.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/anishathalye/porcupine"
)

type parsed struct {
	model  porcupine.Model
	events []porcupine.Event     // kv and etcd
	ops    []porcupine.Operation // concord
	count  int
}

func main() {
	cache := map[string]*parsed{}
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	reply := func(v interface{}) {
		b, _ := json.Marshal(v)
		out.Write(b)
		out.WriteByte('\n')
		out.Flush()
	}
	reply(map[string]interface{}{"ready": true, "gomaxprocs": runtime.GOMAXPROCS(0), "go": runtime.Version()})
	for in.Scan() {
		fields := strings.SplitN(in.Text(), " ", 4)
		repeat, batches := 0, 0
		if len(fields) == 4 {
			repeat, _ = strconv.Atoi(fields[1])
			batches, _ = strconv.Atoi(fields[2])
		}
		if repeat <= 0 || batches <= 0 {
			reply(map[string]string{"error": fmt.Sprintf("expected \"<kind> <repeat> <batches> <file>\", got %q", in.Text())})
			continue
		}
		key := fields[0] + " " + fields[3]
		p, ok := cache[key]
		if !ok {
			var err error
			p, err = load(fields[0], fields[3])
			if err != nil {
				reply(map[string]string{"error": err.Error()})
				continue
			}
			cache[key] = p
		}
		var linearizable bool
		means := make([]float64, batches)
		cpuMeans := make([]float64, batches)
		for b := range means {
			startCPU := cpuTime()
			start := time.Now()
			for i := 0; i < repeat; i++ {
				if p.events != nil {
					linearizable = porcupine.CheckEvents(p.model, p.events)
				} else {
					linearizable = porcupine.CheckOperations(p.model, p.ops)
				}
			}
			means[b] = float64(time.Since(start).Nanoseconds()) / 1e6 / float64(repeat)
			cpuMeans[b] = float64((cpuTime() - startCPU).Nanoseconds()) / 1e6 / float64(repeat)
		}
		reply(map[string]interface{}{"linearizable": linearizable, "ms": median(means), "cpuMs": median(cpuMeans), "operations": p.count})
	}
}

func median(values []float64) float64 {
	sort.Float64s(values)
	middle := len(values) / 2
	if len(values)%2 == 0 {
		return (values[middle-1] + values[middle]) / 2
	}
	return values[middle]
}

// cpuTime is the CPU time the process has used, every thread, user and system.
func cpuTime() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		panic(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

func load(kind, file string) (*parsed, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "kv":
		events, count, err := parseKv(string(data))
		return &parsed{model: kvModel, events: events, count: count}, err
	case "etcd":
		events, count, err := parseEtcd(string(data))
		return &parsed{model: etcdModel, events: events, count: count}, err
	case "concord":
		ops, err := parseConcord(data)
		return &parsed{model: concordKvModel, ops: ops, count: len(ops)}, err
	}
	return nil, fmt.Errorf("unknown kind %q (expected kv, etcd or concord)", kind)
}

// pairer numbers each process's invocation and closes it on its completion; operations still
// open at the end complete with `open` (an unknown outcome), after every other event.
type pairer struct {
	events []porcupine.Event
	open   map[int]int
	next   int
}

func (p *pairer) call(process int, value interface{}) {
	p.events = append(p.events, porcupine.Event{ClientId: process, Kind: porcupine.CallEvent, Value: value, Id: p.next})
	p.open[process] = p.next
	p.next++
}

func (p *pairer) ret(process int, value interface{}) {
	id := p.open[process]
	delete(p.open, process)
	p.events = append(p.events, porcupine.Event{ClientId: process, Kind: porcupine.ReturnEvent, Value: value, Id: id})
}

func (p *pairer) finish(open interface{}) []porcupine.Event {
	for process, id := range p.open {
		p.events = append(p.events, porcupine.Event{ClientId: process, Kind: porcupine.ReturnEvent, Value: open, Id: id})
	}
	return p.events
}

// ---- porcupine's KV histories (test_data/kv) ----

type kvInput struct {
	op    uint8 // 0 get, 1 put, 2 append
	key   string
	value string
}

type kvOutput struct{ value string }

var kvLine = regexp.MustCompile(`^\{:process (\d+), :type :(invoke|ok), :f :(get|put|append), :key "(.*)", :value (nil|"(.*)")\}$`)

func parseKv(text string) ([]porcupine.Event, int, error) {
	p := &pairer{open: map[int]int{}}
	for number, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := kvLine.FindStringSubmatch(line)
		if m == nil {
			return nil, 0, fmt.Errorf("line %d: not a porcupine KV event: %q", number+1, line)
		}
		process, _ := strconv.Atoi(m[1])
		op := map[string]uint8{"get": 0, "put": 1, "append": 2}[m[3]]
		if m[2] == "invoke" {
			p.call(process, kvInput{op: op, key: m[4], value: m[6]})
		} else if op == 0 {
			p.ret(process, kvOutput{value: m[6]})
		} else {
			p.ret(process, kvOutput{})
		}
	}
	return p.finish(kvOutput{}), p.next, nil
}

var kvModel = porcupine.Model{
	PartitionEvent: func(history []porcupine.Event) [][]porcupine.Event {
		byKey := map[string][]porcupine.Event{}
		keyOf := map[int]string{}
		var order []string
		for _, e := range history {
			if e.Kind == porcupine.CallEvent {
				keyOf[e.Id] = e.Value.(kvInput).key
			}
			key := keyOf[e.Id]
			if _, seen := byKey[key]; !seen {
				order = append(order, key)
			}
			byKey[key] = append(byKey[key], e)
		}
		parts := make([][]porcupine.Event, 0, len(order))
		for _, key := range order {
			parts = append(parts, byKey[key])
		}
		return parts
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		in, st := input.(kvInput), state.(string)
		switch in.op {
		case 0:
			return output.(kvOutput).value == st, st
		case 1:
			return true, in.value
		default:
			return true, st + in.value
		}
	},
	Hash: func(state interface{}) uint64 { return fnv64(state.(string)) },
}

// ---- porcupine's etcd histories (test_data/jepsen, from Jepsen's etcd test) ----

type etcdInput struct {
	op       uint8 // 0 read, 1 write, 2 cas
	from, to int
}

type etcdOutput struct {
	ok, exists, unknown bool
	value               int
}

const etcdNil = -1000000

var etcdLine = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail)\s+:(read|write|cas)\s+(nil|\d+|\[(\d+)\s+(\d+)\]|:timed-out)$`)

func parseEtcd(text string) ([]porcupine.Event, int, error) {
	p := &pairer{open: map[int]int{}}
	for _, line := range strings.Split(text, "\n") {
		m := etcdLine.FindStringSubmatch(strings.TrimRight(line, "\r"))
		if m == nil {
			continue // Jepsen's logs hold other lines too; porcupine's parser skips them
		}
		process, _ := strconv.Atoi(m[1])
		number, _ := strconv.Atoi(m[4])
		from, _ := strconv.Atoi(m[5])
		to, _ := strconv.Atoi(m[6])
		switch {
		case m[2] == "invoke" && m[3] == "read" && m[4] == "nil":
			p.call(process, etcdInput{op: 0})
		case m[2] == "invoke" && m[3] == "write" && m[5] == "" && m[4] != "nil" && m[4] != ":timed-out":
			p.call(process, etcdInput{op: 1, from: number})
		case m[2] == "invoke" && m[3] == "cas" && m[5] != "":
			p.call(process, etcdInput{op: 2, from: from, to: to})
		case m[2] == "ok" && m[3] == "read" && m[5] == "" && m[4] != ":timed-out":
			p.ret(process, etcdOutput{exists: m[4] != "nil", value: number})
		case m[2] == "ok" && m[3] == "write" && m[5] == "" && m[4] != "nil" && m[4] != ":timed-out":
			p.ret(process, etcdOutput{})
		case m[3] == "cas" && m[2] != "invoke" && m[5] != "":
			p.ret(process, etcdOutput{ok: m[2] == "ok"})
		case m[2] == "fail" && m[3] == "read" && m[4] == ":timed-out":
			p.ret(process, etcdOutput{unknown: true})
		}
	}
	return p.finish(etcdOutput{unknown: true}), p.next, nil
}

var etcdModel = porcupine.Model{
	Init: func() interface{} { return etcdNil },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st, in, out := state.(int), input.(etcdInput), output.(etcdOutput)
		switch in.op {
		case 0:
			return out.unknown || (!out.exists && st == etcdNil) || (out.exists && st == out.value), st
		case 1:
			return true, in.from
		default:
			matches := in.from == st
			next := st
			if matches {
				next = in.to
			}
			return out.unknown || out.ok == matches, next
		}
	},
}

// ---- Concord's generated KV histories ----

type concordOp struct {
	Client     int          `json:"client"`
	Status     string       `json:"status"`
	InvokeUs   int64        `json:"invokeUs"`
	CompleteUs *int64       `json:"completeUs"`
	Input      concordInput `json:"input"`
	Output     *struct {
		Type    string  `json:"type"`
		Value   *string `json:"value"`
		Ok      bool    `json:"ok"`
		Existed bool    `json:"existed"`
	} `json:"output"`
}

type concordInput struct {
	Type     string  `json:"type"`
	Key      string  `json:"key"`
	Value    *string `json:"value"`
	Expected *string `json:"expected"`
}

type concordOutput struct {
	unknown     bool
	value       *string
	ok, existed bool
}

// concordState is one key: absent, or holding v (Concord keeps the absent key apart from "").
type concordState struct {
	present bool
	v       string
}

func holds(s concordState, want *string) bool {
	if want == nil {
		return !s.present
	}
	return s.present && s.v == *want
}

func parseConcord(data []byte) ([]porcupine.Operation, error) {
	var raw []concordOp
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	ops := make([]porcupine.Operation, 0, len(raw))
	for i, r := range raw {
		switch r.Status {
		case "fail": // did not happen: left out, as Concord's checker leaves it out
		case "info":
			ops = append(ops, porcupine.Operation{ClientId: r.Client, Input: r.Input, Call: r.InvokeUs, Output: concordOutput{unknown: true}, Return: math.MaxInt64})
		case "ok":
			if r.CompleteUs == nil {
				return nil, fmt.Errorf("operation %d: ok without completeUs", i)
			}
			out := concordOutput{unknown: r.Output == nil}
			if r.Output != nil {
				out.value, out.ok, out.existed = r.Output.Value, r.Output.Ok, r.Output.Existed
			}
			ops = append(ops, porcupine.Operation{ClientId: r.Client, Input: r.Input, Call: r.InvokeUs, Output: out, Return: *r.CompleteUs})
		default:
			return nil, fmt.Errorf("operation %d: status %q", i, r.Status)
		}
	}
	return ops, nil
}

var concordKvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var order []string
		for _, op := range history {
			key := op.Input.(concordInput).Key
			if _, seen := byKey[key]; !seen {
				order = append(order, key)
			}
			byKey[key] = append(byKey[key], op)
		}
		parts := make([][]porcupine.Operation, 0, len(order))
		for _, key := range order {
			parts = append(parts, byKey[key])
		}
		return parts
	},
	Init: func() interface{} { return concordState{} },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st, in, out := state.(concordState), input.(concordInput), output.(concordOutput)
		switch in.Type {
		case "get":
			return out.unknown || holds(st, out.value), st
		case "put":
			return true, concordState{true, *in.Value}
		case "append":
			return true, concordState{true, st.v + *in.Value}
		case "cas":
			matches := holds(st, in.Expected)
			next := st
			if matches {
				next = concordState{true, *in.Value}
			}
			return out.unknown || out.ok == matches, next
		case "delete":
			return out.unknown || out.existed == st.present, concordState{}
		}
		panic("unknown operation " + in.Type)
	},
	Hash: func(state interface{}) uint64 {
		st := state.(concordState)
		if !st.present {
			return 0
		}
		return fnv64(st.v) | 1
	},
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
