package postgres_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/userimport"
)

// The import's figures in docs/IMPORT.md come from these benchmarks:
//
//	go test -run '^$' -bench 'Import(10k|100k)' -benchtime 1x ./internal/postgres/
//
// Each imports generated users into a fresh database (create), then exports
// them all and imports the export again with every department changed
// (update), reporting the seconds of each step and the peak of the Go heap
// above what it was before. The files are generated and piped as they are
// read: neither is ever whole in memory.

func BenchmarkImport10k(b *testing.B)  { benchmarkImport(b, 10_000) }
func BenchmarkImport100k(b *testing.B) { benchmarkImport(b, 100_000) }

func benchmarkImport(b *testing.B, rows int) {
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		db := dbtest.New(b)
		users := postgres.NewUserService(db)
		org := &domain.Organisation{CVR: "10000009", Name: "Benchmark A/S"}
		if err := postgres.NewOrganisationService(db).CreateOrganisation(ctx, org); err != nil {
			b.Fatal(err)
		}
		unit := &domain.ProductionUnit{OrgID: org.ID, PNumber: "1000000001", Name: "Hovedkontor"}
		if err := postgres.NewOrganisationService(db).CreateProductionUnit(ctx, unit); err != nil {
			b.Fatal(err)
		}
		admin := &domain.User{OrgID: org.ID, FirstName: "Admin", LastName: "Jensen", Email: "admin@example.dk", CPR: "0101501234", Status: domain.UserActive}
		if err := users.CreateUser(ctx, admin); err != nil {
			b.Fatal(err)
		}
		imports := users.Imports()
		actor := postgres.Actor{UserID: admin.ID, Label: "Admin Jensen"}
		runtime.GC()
		peak := watchHeap()
		b.StartTimer()

		start := time.Now()
		imp, err := imports.Stage(ctx, postgres.StageRequest{OrgID: org.ID, UploadedBy: admin.ID, File: &generatedFile{rows: rows}})
		if err != nil {
			b.Fatal(err)
		}
		if imp.Counts.Creates != rows || imp.Counts.WithErrors != 0 {
			b.Fatalf("staged %+v", imp.Counts)
		}
		staged := time.Now()
		if _, err := imports.ApplyImport(ctx, actor, org.ID, imp.ID); err != nil {
			b.Fatal(err)
		}
		created := time.Now()

		// Export, change every department, import again: all streamed.
		pr, pw := io.Pipe()
		go func() {
			w, err := userimport.NewWriter(pw, "da")
			if err == nil {
				_, err = imports.ExportUsers(ctx, org.ID, func(r *userimport.Record) error {
					r.Department = "Afdeling 2"
					return w.Write(*r)
				})
			}
			if err == nil {
				err = w.Flush()
			}
			pw.CloseWithError(err)
		}()
		imp, err = imports.Stage(ctx, postgres.StageRequest{OrgID: org.ID, UploadedBy: admin.ID, File: pr})
		if err != nil {
			b.Fatal(err)
		}
		if imp.Counts.Updates != rows+1 || imp.Counts.WithErrors != 0 {
			b.Fatalf("staged export %+v", imp.Counts)
		}
		restaged := time.Now()
		if _, err := imports.ApplyImport(ctx, actor, org.ID, imp.ID); err != nil {
			b.Fatal(err)
		}
		updated := time.Now()
		b.StopTimer()

		b.ReportMetric(staged.Sub(start).Seconds(), "s-create-upload")
		b.ReportMetric(created.Sub(staged).Seconds(), "s-create-confirm")
		b.ReportMetric(restaged.Sub(created).Seconds(), "s-update-upload")
		b.ReportMetric(updated.Sub(restaged).Seconds(), "s-update-confirm")
		b.ReportMetric(float64(peak())/(1<<20), "MiB-peak-heap")
	}
}

// watchHeap samples the heap in use until the returned function is called,
// which reports the peak above the level at the start.
func watchHeap() func() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
				peak.Store(ms.HeapInuse - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// generatedFile is a file of new users (rows of them), made as it is read,
// in Danish Excel's format: four in five with a CPR number (sealed and
// hashed on the way in), the rest with a date of birth, every fourth tied
// to the production unit.
type generatedFile struct {
	rows, i int
	buf     []byte
}

func (g *generatedFile) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.i <= g.rows {
		if g.i == 0 {
			g.buf = append(g.buf, "\ufeffhandling;uuid;fornavn;efternavn;email;telefon;cpr;fødselsdato;p_nummer;medarbejdernummer;afdeling\r\n"...)
		} else {
			n := g.i
			born := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n%18000)
			cpr, birth, unit := "", "", ""
			if n%5 != 0 {
				// Serial 0000–0005 keeps the century 19xx; with the date it
				// makes every number unique.
				cpr = born.Format("020106") + fmt.Sprintf("%04d", n/18000)
			} else {
				birth = born.Format("02-01-2006")
			}
			if n%4 == 0 {
				unit = "1000000001"
			}
			g.buf = fmt.Appendf(g.buf, "opret;;Fornavn%d;Efternavn%d;bruger%d@example.dk;+45%08d;%s;%s;%s;%d;Afdeling %d\r\n",
				n, n, n, 20000000+n, cpr, birth, unit, n, n%50)
		}
		g.i++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}
