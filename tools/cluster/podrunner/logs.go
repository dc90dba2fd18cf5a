package podrunner

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Container logs are files in the CRI's format, one line per line of
// output: "<RFC3339Nano time> <stdout|stderr> <F|P> <text>", P marking a
// line cut because it was too long. The kubelet endpoint serves them
// (kubectl logs), with timestamps on request.

// logFile is one container run's log.
type logFile struct {
	mu   sync.Mutex
	f    *os.File
	refs int // its opener and each copier; the last to release closes it
}

// maxLogLine is where a long line is cut.
const maxLogLine = 16 * 1024

// containerLogPath is the log of a container's restart-th run.
func containerLogPath(logDir, namespace, name, uid, container string, restart int32) string {
	return filepath.Join(podLogDir(logDir, namespace, name, uid), container, strconv.Itoa(int(restart))+".log")
}

func podLogDir(logDir, namespace, name, uid string) string {
	return filepath.Join(logDir, namespace+"_"+name+"_"+uid)
}

func openLog(path string) (*logFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	return &logFile{f: f, refs: 1}, nil
}

// acquire takes a reference for a copier.
func (l *logFile) acquire() {
	l.mu.Lock()
	l.refs++
	l.mu.Unlock()
}

// release drops a reference and closes the file with the last one.
func (l *logFile) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		_ = l.f.Close()
	}
}

// copyFrom writes r's lines as stream ("stdout" or "stderr") until EOF,
// then closes r and releases its reference (see acquire).
func (l *logFile) copyFrom(r io.ReadCloser, stream string) {
	defer l.release()
	defer r.Close()
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			tag := "P"
			if line[len(line)-1] == '\n' {
				tag, line = "F", line[:len(line)-1]
			}
			l.write(stream, tag, line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

func (l *logFile) write(stream, tag string, line []byte) {
	var b bytes.Buffer
	b.WriteString(time.Now().UTC().Format(time.RFC3339Nano))
	b.WriteString(" " + stream + " " + tag + " ")
	b.Write(line)
	b.WriteByte('\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.f.Write(b.Bytes())
}

// logLine is one parsed line of a log file.
type logLine struct {
	time   time.Time
	stream string
	full   bool
	text   []byte
}

// parseLogLine reads one line of the format above.
func parseLogLine(s []byte) (logLine, bool) {
	fields := bytes.SplitN(s, []byte(" "), 4)
	if len(fields) < 3 {
		return logLine{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(fields[0]))
	if err != nil {
		return logLine{}, false
	}
	l := logLine{time: t, stream: string(fields[1]), full: string(fields[2]) == "F"}
	if len(fields) == 4 {
		l.text = fields[3]
	}
	return l, true
}
