// rawnode: etcd-raft 3.4's RawNode (Debian's golang-etcd-server-dev, built in GOPATH mode) stepped
// in the shape of Concord's `pnpm bench:micro raft`, for `pnpm bench:anchors`: three RawNodes in one
// goroutine, messages delivered in waves until no node has a Ready; entries appended to MemoryStorage
// (no fsync, no encoding); committed entries applied to a map on every node. One proposal is done
// when it is committed and applied on all three.
//
//	rawnode single N        N proposals, one at a time (propose one, run until quiet)
//	rawnode batch N B       N proposals in batches of B, each proposal its own MsgProp (RawNode.Propose)
//	rawnode onemsgprop N B  N proposals in batches of B, the batch's entries in one MsgProp
//
// With "encode" after the arguments, each node also marshals every entry and hard state it persists,
// as etcd's WAL does (walpb records of entry.Marshal() and HardState.Marshal(); the bytes are dropped,
// as Concord's in-process replicas encode their records and the bench's storage drops them).
//
// Each node compacts as Concord's replicas do by default (snapshotEveryEntries = 10,000): after
// applying 10,000 entries since its last snapshot it takes a snapshot at its applied index
// (MemoryStorage.CreateSnapshot, the store's value as data) and compacts its MemoryStorage up to the
// previous snapshot, so that the log held in memory stays between 10,000 and 20,000 entries on both
// sides instead of growing with the run (a longer run then cost etcd-raft more garbage collection).
//
// It runs one warm-up pass of the same size, then the measured one, and prints one JSON line:
// {"usPerProposal":float,"cpuUsPerProposal":float,"messagesPerProposal":float,"proposals":int,
// "encodedBytesPerProposal":float,"snapshots":int}, the CPU time being the process's (every thread,
// user and system), the counts those of the measured pass.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/raft"
	pb "go.etcd.io/etcd/raft/raftpb"
)

// snapshotEveryEntries is Concord's Raft default: a replica snapshots after applying this many entries.
const snapshotEveryEntries = 10_000

var voters = []uint64{1, 2, 3}

type cluster struct {
	nodes    []*raft.RawNode
	stores   []*raft.MemoryStorage
	state    []map[string][]byte
	queue    []pb.Message
	applied  int
	messages int
	// appliedIndex and snapshotIndex are each node's last applied index and last snapshot's index.
	appliedIndex  []uint64
	snapshotIndex []uint64
	// encode marshals what each node persists, as etcd's WAL does; encodedBytes sums the bytes.
	encode       bool
	encodedBytes int
	// snapshots counts the snapshots the nodes took.
	snapshots int
}

func newCluster(encode bool) *cluster {
	c := &cluster{encode: encode}
	for _, id := range voters {
		storage := raft.NewMemoryStorage()
		must(storage.ApplySnapshot(pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1, Term: 1, ConfState: pb.ConfState{Voters: voters}}}))
		node, err := raft.NewRawNode(&raft.Config{
			ID: id, ElectionTick: 10, HeartbeatTick: 1, Storage: storage,
			MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256, MaxUncommittedEntriesSize: 1 << 30, Logger: quiet{},
		})
		must(err)
		c.nodes = append(c.nodes, node)
		c.stores = append(c.stores, storage)
		c.state = append(c.state, map[string][]byte{})
		c.appliedIndex = append(c.appliedIndex, 1)
		c.snapshotIndex = append(c.snapshotIndex, 1)
	}
	must(c.nodes[0].Campaign())
	c.run()
	if c.nodes[0].BasicStatus().RaftState != raft.StateLeader {
		fail("node 1 did not win the first election")
	}
	return c
}

// drain carries out node i's Readys: persist, queue the messages, apply what is committed.
func (c *cluster) drain(i int) {
	node := c.nodes[i]
	for node.HasReady() {
		rd := node.Ready()
		if !raft.IsEmptyHardState(rd.HardState) {
			must(c.stores[i].SetHardState(rd.HardState))
			if c.encode {
				c.encodedBytes += len(mustMarshal(rd.HardState.Marshal()))
			}
		}
		must(c.stores[i].Append(rd.Entries))
		if c.encode {
			for j := range rd.Entries {
				c.encodedBytes += len(mustMarshal(rd.Entries[j].Marshal()))
			}
		}
		c.queue = append(c.queue, rd.Messages...)
		c.messages += len(rd.Messages)
		for _, entry := range rd.CommittedEntries {
			if entry.Type == pb.EntryNormal && len(entry.Data) > 0 {
				c.state[i]["key"] = entry.Data
				c.applied++
			}
			c.appliedIndex[i] = entry.Index
		}
		node.Advance(rd)
		c.maybeSnapshot(i)
	}
}

// maybeSnapshot snapshots node i at its applied index once it applied snapshotEveryEntries entries
// since its last snapshot, and compacts its storage up to that last snapshot (Concord's policy).
func (c *cluster) maybeSnapshot(i int) {
	applied, previous := c.appliedIndex[i], c.snapshotIndex[i]
	if applied-previous < snapshotEveryEntries {
		return
	}
	data := append([]byte(nil), c.state[i]["key"]...)
	_, err := c.stores[i].CreateSnapshot(applied, &pb.ConfState{Voters: voters}, data)
	must(err)
	if previous > 1 {
		must(c.stores[i].Compact(previous))
	}
	c.snapshotIndex[i] = applied
	c.snapshots++
}

func mustMarshal(bytes []byte, err error) []byte {
	must(err)
	return bytes
}

func (c *cluster) run() {
	for i := range c.nodes {
		c.drain(i)
	}
	for len(c.queue) > 0 {
		wave := c.queue
		c.queue = nil
		for _, message := range wave {
			must(c.nodes[message.To-1].Step(message))
			c.drain(int(message.To - 1))
		}
	}
}

// propose runs `total` proposals in batches of `batch`, returning the wall and CPU time.
func (c *cluster) propose(total, batch int, oneMsgProp bool) (time.Duration, time.Duration) {
	data := make([]byte, 17) // the size of the command Concord proposes: a put of 8 bytes under "key"
	entries := make([]pb.Entry, batch)
	for j := range entries {
		entries[j].Data = data
	}
	startCPU := cpuTime()
	start := time.Now()
	for done := 0; done < total; done += batch {
		if oneMsgProp {
			must(c.nodes[0].Step(pb.Message{Type: pb.MsgProp, From: 1, Entries: append([]pb.Entry(nil), entries...)}))
		} else {
			for j := 0; j < batch; j++ {
				must(c.nodes[0].Propose(data))
			}
		}
		c.run()
	}
	return time.Since(start), cpuTime() - startCPU
}

// cpuTime is the CPU time the process has used, every thread, user and system.
func cpuTime() time.Duration {
	var usage syscall.Rusage
	must(syscall.Getrusage(syscall.RUSAGE_SELF, &usage))
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

func main() {
	encode := len(os.Args) > 3 && os.Args[len(os.Args)-1] == "encode"
	if encode {
		os.Args = os.Args[:len(os.Args)-1]
	}
	if len(os.Args) < 3 {
		fail("usage: rawnode single N | batch N B | onemsgprop N B, each optionally followed by encode")
	}
	total, err := strconv.Atoi(os.Args[2])
	if err != nil || total <= 0 {
		fail(fmt.Sprintf("N must be a positive integer, got %q", os.Args[2]))
	}
	batch := 1
	switch os.Args[1] {
	case "single":
	case "batch", "onemsgprop":
		if len(os.Args) < 4 {
			fail(os.Args[1] + " needs a batch size B")
		}
		batch, err = strconv.Atoi(os.Args[3])
		if err != nil || batch <= 0 {
			fail(fmt.Sprintf("B must be a positive integer, got %q", os.Args[3]))
		}
	default:
		fail(fmt.Sprintf("unknown mode %q (single, batch or onemsgprop)", os.Args[1]))
	}
	total = (total + batch - 1) / batch * batch
	c := newCluster(encode)
	oneMsgProp := os.Args[1] == "onemsgprop"
	c.propose(total, batch, oneMsgProp) // warm-up
	c.applied, c.messages, c.encodedBytes, c.snapshots = 0, 0, 0, 0
	elapsed, cpu := c.propose(total, batch, oneMsgProp)
	if c.applied != 3*total {
		fail(fmt.Sprintf("applied %d entries on the three nodes, want %d", c.applied, 3*total))
	}
	out, _ := json.Marshal(map[string]interface{}{
		"usPerProposal":           float64(elapsed.Nanoseconds()) / 1e3 / float64(total),
		"cpuUsPerProposal":        float64(cpu.Nanoseconds()) / 1e3 / float64(total),
		"messagesPerProposal":     float64(c.messages) / float64(total),
		"proposals":               total,
		"encodedBytesPerProposal": float64(c.encodedBytes) / float64(total),
		"snapshots":               c.snapshots,
	})
	fmt.Println(string(out))
}

func must(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "rawnode: "+message)
	os.Exit(2)
}

type quiet struct{}

func (quiet) Debug(...interface{})              {}
func (quiet) Debugf(string, ...interface{})     {}
func (quiet) Error(...interface{})              {}
func (quiet) Errorf(string, ...interface{})     {}
func (quiet) Info(...interface{})               {}
func (quiet) Infof(string, ...interface{})      {}
func (quiet) Warning(...interface{})            {}
func (quiet) Warningf(string, ...interface{})   {}
func (quiet) Fatal(v ...interface{})            { fail(fmt.Sprint(v...)) }
func (quiet) Fatalf(f string, v ...interface{}) { fail(fmt.Sprintf(f, v...)) }
func (quiet) Panic(v ...interface{})            { panic(fmt.Sprint(v...)) }
func (quiet) Panicf(f string, v ...interface{}) { panic(fmt.Sprintf(f, v...)) }
