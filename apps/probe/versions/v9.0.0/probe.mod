module github.com/satoken-e2e/satoken-e2e

go 1.26.0

require (
	k8s.io/apimachinery v0.0.0-20180913025736-6dd46049f395
	k8s.io/client-go v9.0.0+incompatible
	k8s.io/klog v1.0.0
)

require (
	github.com/davecgh/go-spew v0.0.0-20170626231645-782f4967f2dc // indirect
	github.com/ghodss/yaml v0.0.0-20150909031657-73d445a93680 // indirect
	github.com/gogo/protobuf v0.0.0-20170330071051-c0656edd0d9e // indirect
	github.com/golang/glog v0.0.0-20141105023935-44145f04b68c // indirect
	github.com/golang/protobuf v1.1.0 // indirect
	github.com/google/btree v0.0.0-20160524151835-7d79101e329e // indirect
	github.com/google/gofuzz v0.0.0-20161122191042-44d81051d367 // indirect
	github.com/googleapis/gnostic v0.0.0-20170729233727-0c5108395e2d // indirect
	github.com/gregjones/httpcache v0.0.0-20170728041850-787624de3eb7 // indirect
	github.com/hashicorp/golang-lru v0.5.0 // indirect
	github.com/json-iterator/go v0.0.0-20180612202835-f2b4162afba3 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/peterbourgon/diskv v2.0.1+incompatible // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	github.com/spf13/pflag v1.0.1 // indirect
	github.com/stretchr/testify v0.0.0-20180319223459-c679ae2cc0cb // indirect
	golang.org/x/crypto v0.0.0-20180808211826-de0752318171 // indirect
	golang.org/x/net v0.0.0-20180124060956-0ed95abb35c4 // indirect
	golang.org/x/oauth2 v0.0.0-20170412232759-a6bd8cefa181 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.0.0-20171031081856-95c657629925 // indirect
	golang.org/x/text v0.0.0-20170810154203-b19bf474d317 // indirect
	golang.org/x/time v0.0.0-20161028155119-f51c12702a4d // indirect
	google.golang.org/appengine v1.1.0 // indirect
	gopkg.in/check.v1 v1.0.0-20201130134442-10cb98267c6c // indirect
	gopkg.in/inf.v0 v0.9.0 // indirect
	gopkg.in/yaml.v2 v2.0.0-20170721113624-670d4cfef054 // indirect
	k8s.io/api v0.0.0-20181004124137-fd83cbc87e76 // indirect
)
