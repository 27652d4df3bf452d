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
// It runs one warm-up pass of the same size, then the measured one, and prints one JSON line:
// {"usPerProposal":float,"cpuUsPerProposal":float,"messagesPerProposal":float,"proposals":int}, the
// CPU time being the process's (every thread, user and system).
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

type cluster struct {
	nodes    []*raft.RawNode
	stores   []*raft.MemoryStorage
	state    []map[string][]byte
	queue    []pb.Message
	applied  int
	messages int
}

func newCluster() *cluster {
	c := &cluster{}
	voters := []uint64{1, 2, 3}
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
		}
		must(c.stores[i].Append(rd.Entries))
		c.queue = append(c.queue, rd.Messages...)
		c.messages += len(rd.Messages)
		for _, entry := range rd.CommittedEntries {
			if entry.Type == pb.EntryNormal && len(entry.Data) > 0 {
				c.state[i]["key"] = entry.Data
				c.applied++
			}
		}
		node.Advance(rd)
	}
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
	if len(os.Args) < 3 {
		fail("usage: rawnode single N | batch N B | onemsgprop N B")
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
	c := newCluster()
	oneMsgProp := os.Args[1] == "onemsgprop"
	c.propose(total, batch, oneMsgProp) // warm-up
	c.applied, c.messages = 0, 0
	elapsed, cpu := c.propose(total, batch, oneMsgProp)
	if c.applied != 3*total {
		fail(fmt.Sprintf("applied %d entries on the three nodes, want %d", c.applied, 3*total))
	}
	out, _ := json.Marshal(map[string]interface{}{
		"usPerProposal":       float64(elapsed.Nanoseconds()) / 1e3 / float64(total),
		"cpuUsPerProposal":    float64(cpu.Nanoseconds()) / 1e3 / float64(total),
		"messagesPerProposal": float64(c.messages) / float64(total),
		"proposals":           total,
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
