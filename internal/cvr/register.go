// Package cvr asks the Central Business Register (CVR) about companies: does
// a CVR number exist and is the company active, what are its production
// units, and which companies may a person represent as a member of the
// management. The platform depends only on the Register interface; this
// package has a file-backed register for development and tests, and
// docs/CVR.md says how a production adapter plugs in.
package cvr

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/erhverv/erhverv/internal/domain"
)

// Company is what the register says about one company.
type Company struct {
	CVR             string           `json:"cvr"`
	Name            string           `json:"name"`
	Status          string           `json:"status"` // "active" or "ceased"
	Address         string           `json:"address"`
	ProductionUnits []ProductionUnit `json:"production_units"`
}

// Active reports whether the company may be connected.
func (c Company) Active() bool { return c.Status == "active" }

// ProductionUnit is one P-number of a company.
type ProductionUnit struct {
	PNumber string `json:"p_number"`
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Register is the CVR register as the platform needs it.
type Register interface {
	// Company returns the company with this CVR number, or a not-found
	// domain error.
	Company(ctx context.Context, cvr string) (*Company, error)
	// RepresentedBy lists the companies the person with this CPR number may
	// represent (members of the management with the power to bind it).
	RepresentedBy(ctx context.Context, cpr string) ([]Company, error)
}

var errNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "cvr.not_found", Message: "The CVR register has no company with this CVR number."}

// fileCompany is one company of the register file, with the CPR numbers of
// its management representatives.
type fileCompany struct {
	Company
	Representatives []string `json:"representatives"`
}

// FileRegister is a register read from a JSON file: fictitious companies
// for development, demos and tests.
type FileRegister struct {
	companies []fileCompany
}

// OpenFile reads a register file and checks every entry, so a typo is
// found at start-up rather than at a representative's login.
func OpenFile(path string) (*FileRegister, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cvr register: %w", err)
	}
	var doc struct {
		Companies []fileCompany `json:"companies"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("cvr register %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, c := range doc.Companies {
		if err := domain.ValidateCVR("cvr", c.CVR); err != nil {
			return nil, fmt.Errorf("cvr register %s: company %d: CVR %q is not valid", path, i+1, c.CVR)
		}
		if seen[c.CVR] {
			return nil, fmt.Errorf("cvr register %s: CVR %s appears twice", path, c.CVR)
		}
		seen[c.CVR] = true
		if c.Name == "" || (c.Status != "active" && c.Status != "ceased") {
			return nil, fmt.Errorf("cvr register %s: company %s needs a name and status active or ceased", path, c.CVR)
		}
		for _, u := range c.ProductionUnits {
			if err := domain.ValidatePNumber("p_number", u.PNumber); err != nil {
				return nil, fmt.Errorf("cvr register %s: company %s: P-number %q is not valid", path, c.CVR, u.PNumber)
			}
		}
		for j, cpr := range c.Representatives {
			if _, err := domain.CPRBirthDate("cpr", cpr); err != nil {
				return nil, fmt.Errorf("cvr register %s: company %s: representative %d has no valid CPR number", path, c.CVR, j+1)
			}
		}
	}
	return &FileRegister{companies: doc.Companies}, nil
}

// Company implements Register.
func (r *FileRegister) Company(_ context.Context, cvr string) (*Company, error) {
	for _, c := range r.companies {
		if c.CVR == cvr {
			cc := c.Company
			cc.ProductionUnits = slices.Clone(c.ProductionUnits)
			return &cc, nil
		}
	}
	return nil, errNotFound
}

// RepresentedBy implements Register.
func (r *FileRegister) RepresentedBy(_ context.Context, cpr string) ([]Company, error) {
	var out []Company
	for _, c := range r.companies {
		for _, rep := range c.Representatives {
			if subtle.ConstantTimeCompare([]byte(rep), []byte(cpr)) == 1 {
				cc := c.Company
				cc.ProductionUnits = slices.Clone(c.ProductionUnits)
				out = append(out, cc)
				break
			}
		}
	}
	return out, nil
}
