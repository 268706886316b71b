package sampling

// The X-Ray daemon's sampling API, which relays X-Ray's GetSamplingRules
// and GetSamplingTargets: POST /GetSamplingRules and POST /SamplingTargets
// on the daemon's TCP address, JSON with X-Ray's field names. The
// centralized strategy is a client of it; `xray local` serves it.

// SamplingRule is a sampling rule as X-Ray stores it.
type SamplingRule struct {
	RuleName      string            `json:"RuleName"`
	RuleARN       string            `json:"RuleARN,omitempty"`
	ResourceARN   string            `json:"ResourceARN"`
	Priority      int               `json:"Priority"`
	FixedRate     float64           `json:"FixedRate"`
	ReservoirSize int64             `json:"ReservoirSize"`
	ServiceName   string            `json:"ServiceName"`
	ServiceType   string            `json:"ServiceType"`
	Host          string            `json:"Host"`
	HTTPMethod    string            `json:"HTTPMethod"`
	URLPath       string            `json:"URLPath"`
	Version       int               `json:"Version"`
	Attributes    map[string]string `json:"Attributes"`
}

// SamplingRuleRecord is a rule with its creation and modification times,
// in Unix seconds.
type SamplingRuleRecord struct {
	CreatedAt    float64       `json:"CreatedAt"`
	ModifiedAt   float64       `json:"ModifiedAt"`
	SamplingRule *SamplingRule `json:"SamplingRule"`
}

// GetSamplingRulesOutput is the answer to /GetSamplingRules: one page of
// rules, and the token of the next page when there is one.
type GetSamplingRulesOutput struct {
	SamplingRuleRecords []SamplingRuleRecord `json:"SamplingRuleRecords"`
	NextToken           *string              `json:"NextToken"`
}

// SamplingStatisticsDocument is what a client reports of one rule since its
// previous report.
type SamplingStatisticsDocument struct {
	RuleName     string  `json:"RuleName"`
	ClientID     string  `json:"ClientID"`
	Timestamp    float64 `json:"Timestamp"`
	RequestCount int64   `json:"RequestCount"`
	SampledCount int64   `json:"SampledCount"`
	BorrowCount  int64   `json:"BorrowCount"`
}

// GetSamplingTargetsInput is the body of /SamplingTargets (at most 25
// statistics documents).
type GetSamplingTargetsInput struct {
	SamplingStatisticsDocuments []SamplingStatisticsDocument `json:"SamplingStatisticsDocuments"`
}

// SamplingTargetDocument is the quota and rate X-Ray assigns a client for
// one rule.
type SamplingTargetDocument struct {
	RuleName          string   `json:"RuleName"`
	FixedRate         *float64 `json:"FixedRate"`
	ReservoirQuota    *int64   `json:"ReservoirQuota"`
	ReservoirQuotaTTL *float64 `json:"ReservoirQuotaTTL"`
	Interval          *int64   `json:"Interval,omitempty"`
}

// UnprocessedStatistics names a statistics document X-Ray refused.
type UnprocessedStatistics struct {
	RuleName  string `json:"RuleName"`
	ErrorCode string `json:"ErrorCode"`
	Message   string `json:"Message"`
}

// GetSamplingTargetsOutput is the answer to /SamplingTargets.
type GetSamplingTargetsOutput struct {
	SamplingTargetDocuments []SamplingTargetDocument `json:"SamplingTargetDocuments"`
	LastRuleModification    *float64                 `json:"LastRuleModification"`
	UnprocessedStatistics   []UnprocessedStatistics  `json:"UnprocessedStatistics"`
}
